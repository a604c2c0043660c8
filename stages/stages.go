// Package stages is the one definition of the talk's iterations — the
// stages — as a table: what each one runs, where it keeps sessions, what it
// caches, what nginx does in it, what the talk measured, and how the report
// tells it. The CLI (serve, bench, lab, their help), the driver, the fault
// injector and the report all read this table and iterate it; no other
// file spells a stage's id.
//
// The table is data only: this package imports nothing of the lab, so the
// report can read it without linking the code that starts servers. Each
// stage's topology lives in a package of its own below this one (baseline,
// cgi, fastcgi, balanced, cached); stage 2 is the app server alone,
// internal/appserver, which the later stages also run. What stages share —
// the app server, the supervisor of its instances, the Go servers' limits —
// is in internal/, so no stage imports another stage's package, but for
// stage 4, which is stage 3 plus a cache and builds on stages/balanced.
//
// Adding a stage is one entry here and its package; the serve command
// starts it by its Process kind.
package stages

import (
	"image/color"
	"strings"
)

// Process says which processes a stage runs, and so which code starts it.
type Process int

const (
	// Baselines: nginx serving a static page, a Go server rendering it,
	// and a Go server rendering it after one query (stage 0).
	Baselines Process = iota
	// CGIHost: a CGI host starting the site's program for every request.
	CGIHost
	// FastCGI: nginx passing requests over FastCGI to one long-running app
	// process.
	FastCGI
	// AppServer: one long-running app server, nothing in front.
	AppServer
	// Balanced: several app servers behind nginx.
	Balanced
)

// Sessions are where a stage keeps its visitors' sessions.
const (
	SessionsDB        = "db"
	SessionsMemcached = "memcached"
)

// Stage is one iteration of the talk.
type Stage struct {
	// ID names the stage on the command line and in records: "0" … "4",
	// "1f".
	ID string
	// Alias is the stage's other name on the command line ("cgi").
	Alias string
	// Name is the stage's name in tables and charts ("load-balanced").
	Name string
	// Tick is its name under a bar of a chart, where Name is too long.
	Tick string
	// Process is what it runs.
	Process Process
	// Sessions is where it keeps sessions (SessionsDB, SessionsMemcached;
	// "" when it serves no site pages of its own, as stage 0).
	Sessions string
	// Cache: query results and rendered pages are kept in memcached, and
	// nginx serves images and anonymous cached pages itself.
	Cache bool
	// UsesDatabase: its pages need PostgreSQL (faults on the database
	// apply to it).
	UsesDatabase bool
	// Talk is what the talk measured with its own tool, in requests per
	// second; zero when the talk did not run it.
	Talk float64
	// TalkAB is what the talk measured with ab, where it did.
	TalkAB float64
	// Colour is the stage's colour on every chart (Okabe-Ito), so a reader
	// who learnt "blue is the cache" on one slide reads the next one at a
	// glance.
	Colour color.Color
	// Help is the stage's paragraph in serve's help.
	Help string
	// Changed and Bottleneck are the report's chapter on the stage: what
	// changed from the stage before, and the bottleneck it exposed.
	Changed, Bottleneck string
}

// Okabe-Ito: eight colours told apart by people with every common form of
// colour blindness.
var (
	okabeBlack     = color.RGBA{0x00, 0x00, 0x00, 0xFF}
	okabeOrange    = color.RGBA{0xE6, 0x9F, 0x00, 0xFF}
	okabeSkyBlue   = color.RGBA{0x56, 0xB4, 0xE9, 0xFF}
	okabeGreen     = color.RGBA{0x00, 0x9E, 0x73, 0xFF}
	okabeBlue      = color.RGBA{0x00, 0x72, 0xB2, 0xFF}
	okabeVermilion = color.RGBA{0xD5, 0x5E, 0x00, 0xFF}
	okabePurple    = color.RGBA{0xCC, 0x79, 0xA7, 0xFF}
)

// All are the stages in the talk's order (1f, not in the talk, beside the
// CGI it improves on).
var All = []Stage{
	{
		ID: "0", Alias: "baseline", Name: "baseline", Process: Baselines, UsesDatabase: true,
		Colour: okabeBlack,
		Help: `the orders of magnitude: the same 2 KB page as a static file
served by nginx, rendered by a Go process (GOMAXPROCS=1), and
rendered after one indexed query`,
		Changed:    "Not a stage of the site: the orders of magnitude under it. A static file served by nginx, a dynamic page from Go with no database, and a page that runs one indexed query.",
		Bottleneck: "Each step down the list does more work per request; the site's stages sit below all three.",
	},
	{
		ID: "1", Alias: "cgi", Name: "CGI", Process: CGIHost, Sessions: SessionsDB, UsesDatabase: true,
		Talk: 23, Colour: okabeOrange,
		Help: `a CGI program run by a CGI host: a new process, a new database
connection and freshly parsed templates for every request`,
		Changed:    "CGI: a new process for every request, opening a new database connection every time (a CGI host runs the scalelab-cgi program, as Apache ran Python scripts).",
		Bottleneck: "Starting a process and setting up its resources on every request: the machine spends its time on fork, exec and connecting, not on pages.",
	},
	{
		ID: "1f", Alias: "fastcgi", Name: "FastCGI", Process: FastCGI, Sessions: SessionsDB, UsesDatabase: true,
		Colour: okabePurple,
		Help: `nginx passing requests over FastCGI to one long-running Go
process (GOMAXPROCS=1, sessions in the database): the talk's
other remedy for CGI`,
		Changed: "FastCGI (not in the talk): the CGI program stays running between requests and the web server talks to it over the FastCGI protocol, so process start-up is paid once, not per request.",
	},
	{
		ID: "2", Alias: "appserver", Name: "app server", Tick: "app srv", Process: AppServer, Sessions: SessionsDB, UsesDatabase: true,
		Talk: 139, Colour: okabeSkyBlue,
		Help: `one long-running process with a connection pool; GOMAXPROCS=1
models the talk's GIL (--procs 0 lifts it: Go uses every core)`,
		Changed:    "One long-running app server with a pool of database connections. GOMAXPROCS=1 models Python's GIL; sessions are kept in the database.",
		Bottleneck: "One core does all the work (the GIL), and every request reads its session from the database.",
	},
	{
		ID: "3", Alias: "balanced", Name: "load-balanced", Tick: "balanced", Process: Balanced, Sessions: SessionsMemcached, UsesDatabase: true,
		Talk: 217, Colour: okabeGreen,
		Help: `--instances app servers (default: one per core), GOMAXPROCS=1
each, behind nginx; sessions in memcached so any instance serves
any request (--sessions memory shows why per-process sessions
break behind a balancer: users look logged out at random)`,
		Changed:    "Several app-server processes, one per core, behind nginx; sessions move to memcached so any process can serve any request (share nothing).",
		Bottleneck: "The app still reads static files (images) from disk and renders every page for every request.",
	},
	{
		ID: "4", Alias: "cached", Name: "cached", Process: Balanced, Sessions: SessionsMemcached, Cache: true, UsesDatabase: true,
		Talk: 616, TalkAB: 1750, Colour: okabeBlue,
		Help: `stage 3 plus memcached caching of queries and pages; nginx
serves images from disk and anonymous pages from memcached`,
		Changed:    "memcached caches rendered pages and query results (invalidated on writes); nginx serves static files and anonymous cached pages itself, so most requests never reach Go.",
		Bottleneck: "None in the talk: what is left is the cost of a cache lookup, and the load tool itself (616 req/s with the talk's tool, 1750 with ab).",
	},
}

// NoIndex is the talk's last lesson as a variant of a stage: the stage run
// without the secondary indexes.
var NoIndex = struct {
	// Suffix marks the variant in a result's key ("4-noindex").
	Suffix string
	// Stage is the stage the talk ran without its index, and Talk what
	// it measured then.
	Stage string
	Talk  float64
	// Colour is the collapse's colour: the alarming vermilion.
	Colour color.Color
	// Changed and Bottleneck are the report's chapter on it.
	Changed, Bottleneck string
}{
	Suffix: "-noindex", Stage: "4", Talk: 28, Colour: okabeVermilion,
	Changed:    "Stage 4 with the secondary indexes dropped.",
	Bottleneck: "A sequential scan on every query that misses the cache: caching does not save a database that cannot find its rows.",
}

// Find looks a stage up by its ID or alias, in any case.
func Find(name string) (Stage, bool) {
	for _, st := range All {
		if strings.EqualFold(name, st.ID) || strings.EqualFold(name, st.Alias) {
			return st, true
		}
	}
	return Stage{}, false
}

// Choices names every stage as a user may type it, for help and errors:
// "0 (baseline), 1 (cgi), …, or 4 (cached)".
func Choices() string {
	var parts []string
	for _, st := range All {
		parts = append(parts, st.ID+" ("+st.Alias+")")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}

// Key names a stage, or its no-index variant, in records and report
// tables: "4", "4-noindex".
func Key(id string, noIndex bool) string {
	if noIndex {
		return id + NoIndex.Suffix
	}
	return id
}

// ParseKey splits a result's key into its stage's ID and whether it is
// the no-index variant.
func ParseKey(key string) (id string, noIndex bool) {
	id, noIndex = strings.CutSuffix(key, NoIndex.Suffix)
	return id, noIndex
}

// TalkFor is the talk's figure for a stage (its no-index variant with
// noIndex), measured with the talk's own tool ("" ) or ab ("ab"); zero when
// the talk has none.
func TalkFor(key, tool string) float64 {
	id, noIndex := ParseKey(key)
	st, ok := Find(id)
	switch {
	case !ok:
		return 0
	case noIndex:
		if id == NoIndex.Stage && tool == "" {
			return NoIndex.Talk
		}
		return 0
	case tool == "ab":
		return st.TalkAB
	case tool == "":
		return st.Talk
	}
	return 0
}

// Base is the stage the talk's speed-ups are counted from: CGI, stage 1.
func Base() Stage {
	st, _ := Find("1")
	return st
}

// ScaleOut names the stages of the talk's scaling out, from the table:
// the one app server (the GIL's) and the first stage of app servers
// behind nginx without a cache. The crossover, the report's explanations
// and the capacity model's overtake all compare these two.
func ScaleOut() (appServer, balanced Stage) {
	for _, st := range All {
		switch {
		case st.Process == AppServer && appServer.ID == "":
			appServer = st
		case st.Process == Balanced && !st.Cache && balanced.ID == "":
			balanced = st
		}
	}
	return appServer, balanced
}

// Reference is the stage every other is verified against: the site as
// one long-running app server, the talk's stage 2. A stage is measured
// only if it serves the reference's pages byte for byte.
func Reference() Stage {
	st, _ := Find("2")
	return st
}
