package driver

import (
	"bufio"
	"context"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/infra"
)

// Where the time went: the talk's first advice is to know where the
// bottleneck is. During every measurement the driver watches each
// component's processes (their CPU time comes from /proc, children that
// exited included: the kernel adds a reaped child's time to its parent's
// cutime, which is how a CGI stage's short-lived programs are counted),
// the machine's idle time, and counts SQL statements (pg_stat_statements)
// and memcached operations per page view.

// Where is what one stage's measurements say about where the time went
// (see record.Where).
type Where = record.Where

// whereSum adds a stage's measurements up into its Where.
type whereSum struct {
	Where
	views, requests int64
}

// components finds the PIDs of the running stage's parts from the records
// the lab keeps in its state folder.
func components(lab *infra.Lab) (nginx, apps []int, postgres, memcached int) {
	if lab == nil {
		return
	}
	for _, p := range lab.Recorded() {
		switch {
		case p.PID <= 0:
		case strings.HasPrefix(p.Name, servePrefix):
			// The serve child itself, named after its arguments: they may
			// hold "-app-" ("--app-cpu") or end in "-nginx", and it is
			// counted as serve, once.
		case p.Name == "postgres":
			postgres = p.PID
		case p.Name == "memcached":
			memcached = p.PID
		case strings.HasSuffix(p.Name, "-nginx"):
			nginx = append(nginx, p.PID)
		case isAppServer(p.Name):
			apps = append(apps, p.PID)
		}
	}
	return
}

// servePrefix begins the name under which the driver records the serve
// child it runs a stage in.
const servePrefix = "driver-serve-"

// isAppServer says whether name is an app server's, as the supervisor
// names them: PREFIX-app-N.
func isAppServer(name string) bool {
	_, n, ok := strings.Cut(name, "-app-")
	if !ok || n == "" {
		return false
	}
	for _, r := range n {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// watchList is every PID to watch for a stage served by servePID.
func watchList(lab *infra.Lab, servePID int) []int {
	nginx, apps, pg, mc := components(lab)
	pids := append([]int{servePID}, nginx...)
	pids = append(pids, apps...)
	for _, p := range []int{pg, mc} {
		if p > 0 {
			pids = append(pids, p)
		}
	}
	// A PID listed twice would be counted twice.
	slices.Sort(pids)
	return slices.Compact(pids)
}

// add folds one measurement's record into w.
func (w *whereSum) add(lab *infra.Lab, servePID int, rec *record.Record, idleS float64) {
	if w.CPUS == nil {
		w.CPUS = map[string]float64{}
	}
	nginx, apps, pg, mc := components(lab)
	in := func(pid int, set []int) bool {
		for _, p := range set {
			if p == pid {
				return true
			}
		}
		return false
	}
	cpu := rec.Results.CPU
	w.CPUS[record.CPUClient] += cpu.ClientUserS + cpu.ClientSysS
	// Each watched process counts without the other watched ones below it
	// (procstat), so serve's share is its own and its CGI programs'.
	for _, p := range cpu.Watched {
		s := p.UserS + p.SysS
		switch {
		case p.PID == servePID:
			w.CPUS[record.CPUServe] += s
		case in(p.PID, nginx):
			w.CPUS[record.CPUNginx] += s
		case in(p.PID, apps):
			w.CPUS[record.CPUApp] += s
		case p.PID == pg:
			w.CPUS[record.CPUPostgres] += s
		case p.PID == mc:
			w.CPUS[record.CPUMemcached] += s
		}
	}
	// The machine's account is read at the same instants as the watched
	// processes'; the idle time read around the whole measurement (its
	// counters and the check of its writes included) is only the fallback
	// of a record without it.
	if m := cpu.Machine; m != nil && m.TotalS > 0 {
		idleS = m.IdleS
		w.MachineS += m.TotalS
	}
	if out, steal, _, ok := cpu.Noise(); ok {
		w.OutsideCPUS += out
		w.StealS += steal
	}
	w.CPUS[record.CPUIdle] += idleS
	w.requests += rec.Results.Requests
	w.views += rec.Results.PageViews
}

// remeasure decides whether a measurement is taken again: once, when
// outsiders and steal took more than record.NoisyShare of the machine
// during it (see record.IsNoisy), and the measurement is not itself a
// second attempt.
func remeasure(cpu record.CPU, retaken bool) (noisy, again bool) {
	out, steal, total, ok := cpu.Noise()
	noisy = ok && record.IsNoisy(out, steal, total)
	return noisy, noisy && !retaken
}

// finish computes the per-request figures.
func (w *whereSum) finish() {
	if w.requests == 0 {
		return
	}
	w.CPUUsPerRequest = map[string]float64{}
	for k, v := range w.CPUS {
		if k != record.CPUIdle {
			w.CPUUsPerRequest[k] = v * 1e6 / float64(w.requests)
		}
	}
}

// perRepeat turns the counts summed over n measurements into their mean.
func (w *whereSum) perRepeat(n int) {
	if n <= 1 {
		return
	}
	w.SQLPerView /= float64(n)
	w.MCGetsPerView /= float64(n)
	w.MCHitsPerView /= float64(n)
	w.MCSetsPerView /= float64(n)
}

// idleSeconds reads the machine's idle and iowait time from /proc/stat.
func idleSeconds() float64 {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0
	}
	fields := strings.Fields(sc.Text()) // cpu user nice system idle iowait ...
	if len(fields) < 6 || fields[0] != "cpu" {
		return 0
	}
	idle, _ := strconv.ParseFloat(fields[4], 64)
	iowait, _ := strconv.ParseFloat(fields[5], 64)
	return (idle + iowait) / 100 // USER_HZ is 100 on Linux
}

// counters are the per-view counts read around a measurement.
type counters struct {
	sql                  float64
	gets, hits, sets     float64
	sqlOK                bool
	memcachedOK          bool
	databaseURL, mcAddrs string
}

// readCounters reads pg_stat_statements' total calls in the lab's database
// (statements about pg_stat_statements itself left out) and memcached's
// counters.
func readCounters(ctx context.Context, databaseURL, memcachedServers string) counters {
	c := counters{databaseURL: databaseURL, mcAddrs: memcachedServers}
	if databaseURL != "" {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, databaseURL); err == nil {
			err = conn.QueryRow(ctx, `SELECT coalesce(sum(calls), 0)::float8 FROM pg_stat_statements
				WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
				AND query NOT LIKE '%pg_stat_statements%'`).Scan(&c.sql)
			c.sqlOK = err == nil
			conn.Close(ctx)
		}
	}
	for _, addr := range strings.Split(memcachedServers, ",") {
		if addr = strings.TrimSpace(addr); addr == "" {
			continue
		}
		st, err := infra.MemcachedStats(addr)
		if err != nil {
			continue
		}
		c.memcachedOK = true
		c.gets += st["cmd_get"]
		c.hits += st["get_hits"]
		c.sets += st["cmd_set"]
	}
	return c
}

// enableStatements makes sure pg_stat_statements can be read; it needs the
// server started with the library preloaded (the lab's own PostgreSQL is).
func enableStatements(ctx context.Context, databaseURL string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"); err != nil {
		return err
	}
	var n int64
	return conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_statements").Scan(&n)
}

// addCounts folds the counters' difference over one measurement into w.
func (w *whereSum) addCounts(before, after counters, views int64) {
	if views <= 0 {
		return
	}
	v := float64(views)
	if before.sqlOK && after.sqlOK {
		w.SQLPerView += (after.sql - before.sql) / v
	} else {
		w.SQLPerView = -1
		w.Note = "SQL statements not counted: the database has no pg_stat_statements (the lab's own PostgreSQL preloads it; restart it with scalelab down && scalelab up)"
	}
	if before.memcachedOK && after.memcachedOK {
		w.MCGetsPerView += (after.gets - before.gets) / v
		w.MCHitsPerView += (after.hits - before.hits) / v
		w.MCSetsPerView += (after.sets - before.sets) / v
	}
}

// flushMemcached empties every memcached server of the list, and says
// which it could not.
func flushMemcached(servers string) error {
	var errs []error
	for _, addr := range strings.Split(servers, ",") {
		if addr = strings.TrimSpace(addr); addr != "" {
			errs = append(errs, infra.FlushMemcached(addr))
		}
	}
	return errors.Join(errs...)
}
