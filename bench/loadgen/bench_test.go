package loadgen_test

import (
	"bytes"
	"net"
	"net/url"
	"testing"

	"github.com/scalelab/scalelab/bench/loadgen"
)

// fixedServer answers every request with the same 2 KB response, reading
// requests as they come and allocating nothing per request, so that the
// benchmark below measures the client. It is no HTTP server: it assumes
// requests without bodies, which is what the plain closed loop sends.
func fixedServer(tb testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	body := bytes.Repeat([]byte("x"), 2048)
	resp := append([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2048\r\n\r\n"), body...)
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				buf := make([]byte, 16<<10)
				n := 0
				for {
					m, err := nc.Read(buf[n:])
					if err != nil {
						return
					}
					n += m
					// Answer each complete request in the buffer.
					for {
						i := bytes.Index(buf[:n], []byte("\r\n\r\n"))
						if i < 0 {
							break
						}
						if _, err := nc.Write(resp); err != nil {
							return
						}
						n = copy(buf, buf[i+4:n])
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String() + "/"
}

// BenchmarkClosedLoop measures the request loop of each engine: one op is
// one request and response over loopback. Its allocs/op should stay at 0
// for the epoll engine (the run's fixed set-up, spread over b.N requests).
func BenchmarkClosedLoop(b *testing.B) { benchmarkClosedLoop(b, 16) }

// BenchmarkClosedLoop64 is the same with the 64 connections of
// bench/scripts/compare.sh, where the epoll engine naps between polls.
func BenchmarkClosedLoop64(b *testing.B) { benchmarkClosedLoop(b, 64) }

func benchmarkClosedLoop(b *testing.B, conns int) {
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			u, _ := url.Parse(fixedServer(b))
			b.ReportAllocs()
			b.ResetTimer()
			rec := mustRun(b, loadgen.Options{
				Targets: []*url.URL{u}, Connections: conns, Requests: int64(b.N), Portable: e.portable,
			})
			b.StopTimer()
			if rec.Results.Requests != int64(b.N) {
				b.Fatalf("%d requests of %d", rec.Results.Requests, b.N)
			}
			b.ReportMetric(rec.Results.RequestsPerS, "req/s")
			c := rec.Results.CPU
			b.ReportMetric((c.ClientUserS+c.ClientSysS)*1e5/float64(b.N), "cpu-s/100k")
		})
	}
}
