package appserver

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"
)

// Run serves s as one app-server process of a stage (1f, 3 or 4 start it
// many times over, GOMAXPROCS from their environment) until ctx ends
// (SIGTERM), then shuts it down gracefully.
func Run(ctx context.Context, s *Server, stdout io.Writer) error {
	if err := s.Open(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "appserver: serving %s (pid %d, fastcgi %v)\n", s.URL(), os.Getpid(), s.FastCGI)
	errc := make(chan error, 1)
	go func() { errc <- s.Serve() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.Close(shutdown)
}
