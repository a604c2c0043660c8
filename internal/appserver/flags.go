package appserver

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/scalelab/scalelab/app"
	"github.com/scalelab/scalelab/internal/appcost"
)

// Choices are what a stage chooses for its app servers, as flags: "scalelab
// serve" takes them for the stage it runs (and for "serve app"), and passes
// them on to each app-server process it starts (Args), whose hidden
// "scalelab appserver" command reads them with the same definitions
// (AddFlags): one name, default and check per choice.
type Choices struct {
	// Sessions is the session store: memcached, memory or db.
	Sessions string
	// Cache caches queries and pages in memcached (stage 4).
	Cache bool
	// QueryTimeout is each request's database deadline (503 past it).
	QueryTimeout time.Duration
	// Costs are the modelled app's CPU costs (--app-cpu, --app-start-cpu;
	// zero: Go as it is), paid by every app process of every stage.
	appcost.Costs
}

// AddFlags defines --sessions, --cache, --query-timeout, --app-cpu and
// --app-start-cpu on fs.
func (c *Choices) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Sessions, "sessions", "memcached", "where stage 3 keeps sessions: memcached, memory or db")
	fs.BoolVar(&c.Cache, "cache", false, "serve app: cache queries and pages in memcached (for stage 4)")
	fs.DurationVar(&c.QueryTimeout, "query-timeout", app.DefaultQueryTimeout, "each request's database deadline: past it, or with the database down, the request answers 503")
	AddCostFlags(fs, &c.Costs)
}

// AddCostFlags defines --app-cpu and --app-start-cpu on fs: serve, the
// hidden appserver command, bench and lab share their names and help.
func AddCostFlags(fs *pflag.FlagSet, c *appcost.Costs) {
	fs.DurationVar(&c.PerRequest, appcost.FlagPerRequest, 0, "model a costlier app (the talk's Python: 7ms): CPU time of its own thread every request that reaches an app process burns first (0: Go as it is)")
	fs.DurationVar(&c.Start, appcost.FlagStart, 0, "model an interpreter's start-up (the talk's: 36ms): CPU time each app process burns when it starts, a CGI process on every request")
}

// Check says what is wrong with the choices, in a line that names the flag.
func (c Choices) Check() error {
	if c.QueryTimeout <= 0 {
		return fmt.Errorf("--query-timeout must be positive, got %v", c.QueryTimeout)
	}
	if c.Sessions != "memcached" && c.Sessions != "memory" && c.Sessions != "db" {
		return fmt.Errorf("--sessions must be memcached, memory or db, got %q", c.Sessions)
	}
	return c.Costs.Check()
}

// Args are the flags that pass the choices on to an app-server process.
func (c Choices) Args() []string {
	args := []string{"--sessions", c.Sessions, "--query-timeout", c.QueryTimeout.String()}
	if c.Cache {
		args = append(args, "--cache")
	}
	return append(args, c.Costs.Args()...)
}

// ProcessFlags are the flags a stage gives each app-server process it
// starts besides the Choices: where it listens and finds the images, and
// how it is wired to the stage's nginx. The database and memcached come
// from the environment, never the command line, where every user of the
// machine could read a password.
type ProcessFlags struct {
	Choices
	Addr, Images  string
	FastCGI       bool
	TrustPageMiss bool
	PoolSize      int
}

// AddFlags defines the choices' flags and the process's own on fs.
func (p *ProcessFlags) AddFlags(fs *pflag.FlagSet) {
	p.Choices.AddFlags(fs)
	fs.StringVar(&p.Addr, "addr", "127.0.0.1:0", "address to listen on")
	fs.StringVar(&p.Images, "images", "", "image pool folder")
	fs.BoolVar(&p.FastCGI, "fastcgi", false, "speak FastCGI instead of HTTP (behind nginx's fastcgi_pass)")
	fs.BoolVar(&p.TrustPageMiss, "trust-page-miss", false, "with --cache, behind stage 4's nginx only: do not look up again a page nginx marks as missed ("+app.PageMissedHeader+")")
	fs.IntVar(&p.PoolSize, "pool", 0, "database connections (0: 8)")
}

// Server is the app server the flags describe, on the given services.
func (p *ProcessFlags) Server(databaseURL, memcachedServers string) (*Server, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	if p.TrustPageMiss && !p.Cache {
		return nil, errors.New("--trust-page-miss is for an app server with --cache, behind stage 4's nginx")
	}
	return &Server{Addr: p.Addr, Images: p.Images, FastCGI: p.FastCGI, TrustPageMiss: p.TrustPageMiss, PoolSize: p.PoolSize,
		Sessions: p.Sessions, Cache: p.Cache, QueryTimeout: p.QueryTimeout, Costs: p.Costs,
		DatabaseURL: databaseURL, MemcachedServers: memcachedServers}, nil
}
