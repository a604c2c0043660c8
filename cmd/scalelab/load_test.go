package main

import (
	"context"
	"testing"
)

// TestLoadBadFlags checks that mistakes in `scalelab load` are usage errors
// (exit code 2), caught before any request is sent.
func TestLoadBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"load"},
		{"load", "http://10.1.2.3/"},
		{"load", "http://127.0.0.1:8080/", "--rate", "-1"},
		{"load", "http://127.0.0.1:8080/", "--connections", "0"},
		{"load", "http://[::1"},
		{"load", "http://127.0.0.1:8080/", "--duration", "soon"},
		{"load", "http://127.0.0.1:8080/", "--workload", "photos", "--mix", "video=1"},
	} {
		root := newRootCmd()
		root.SetArgs(args)
		err := root.ExecuteContext(context.Background())
		if code := exitCode(err); code != 2 {
			t.Errorf("scalelab %v: exit code %d (err %v), want 2", args, code, err)
		}
	}
}
