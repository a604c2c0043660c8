package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scalelab/scalelab/data"
)

// The hidden images command draws the same pool as seed, into the folder
// it is given, and needs no database: a Kubernetes init container runs it.
func TestImagesDrawsThePool(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "images")
	r := run(t, []string{"DATABASE_URL=postgres://nobody@127.0.0.1:1/none"}, "images", dir)
	if r.code != 0 {
		t.Fatalf("images: exit %d: %s", r.code, r.stderr)
	}
	want := filepath.Join(t.TempDir(), "want")
	if err := data.EnsurePool(want); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"thumb/" + data.ImageName(0), "medium/" + data.ImageName(data.PoolSize-1)} {
		got, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		exp, err := os.ReadFile(filepath.Join(want, f))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(exp) {
			t.Errorf("%s differs from the pool seed draws", f)
		}
	}
	for _, args := range [][]string{{"images"}, {"images", "a", "b"}} {
		if r := run(t, nil, args...); r.code != 2 || !strings.Contains(r.stderr, "images takes one folder") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and what it takes", args, r.code, r.stderr)
		}
	}
}
