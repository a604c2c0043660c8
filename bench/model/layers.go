package model

import (
	"math"

	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/stages"
)

// A request on one machine waits for two kinds of thing: for a process or
// thread of the component it is in (stage 2's one process, one of the two
// app servers nginx picked for it, the nginx worker its connection
// belongs to) and for a core to run that thread on. One station of m
// cores for all the work sees only the second, and so at a few
// connections it has the cores busy all the time while the lab's cores
// idle a fifth of it: two requests queue behind the same app server while
// the other core has nothing to do.
//
// The model therefore has two layers, after the method of layers (Rolia &
// Sevcik, "The Method of Layers", IEEE Transactions on Software
// Engineering 21(8), 1995) and layered queueing networks (Franks et al.,
// "Enhanced Modeling and Solution of Layered Queueing Networks", IEEE TSE
// 35(2), 2009):
//
//   - the software layer is a closed network of the components' own
//     queues (task), solved by exact MVA: each component's threads, with
//     its demand stretched by the time its threads wait for a core;
//   - the hardware layer gives that stretch: the cores run whichever
//     threads are in service, so with K of them wanting a core and C
//     cores, work goes at min(K, C) cores' worth. By Little's law the
//     threads in service average X·ΣD·s and by the conservation of work
//     the cores do X·ΣD, so the stretch is s = E[K] / E[min(K, C)].
//     K's distribution is the threads' own: each is in service
//     independently with its utilisation (a Poisson binomial), and never
//     more of them than requests in circulation.
//
// The two are solved together: the stretch is the one the hardware layer
// gives back for the software layer it stretched (see layered). At one
// connection nothing waits (s = 1); with many, the cores are the bound,
// as in a model of the cores as one station of C servers; in between,
// each component's queue idles cores that one station would have kept
// busy.

// task is one component as the software layer sees it.
type task struct {
	id string
	// cpu is CPU-seconds per request in all; demand is the part on the
	// request's path (cpu less the stage's Overlap).
	cpu, demand float64
	// threads is how many requests one copy works on at once.
	threads int
	// copies is how many separate queues the component's requests are
	// dealt among without regard to which is busy: nginx's workers (a
	// connection belongs to one), the app servers (nginx's round robin),
	// memcached's threads (a connection belongs to one). Each copy takes
	// 1/copies of the requests.
	copies int
	// own: the task runs on cores of its own (the load generator of a
	// pinned run), so it never waits for the shared cores.
	own bool
}

// tasks is the stage on machine m with conns connections in circulation,
// as its components' queues.
func (s Stage) tasks(m Machine, conns int) []task {
	var out []task
	for _, t := range s.Tiers {
		k := task{id: t.ID, cpu: t.Demand, demand: t.Demand * (1 - s.Overlap), threads: m.Cores, copies: 1}
		switch t.ID {
		case record.CPUClient:
			if m.ClientCores < 0 {
				continue
			}
			if m.ClientCores > 0 {
				k.threads, k.own = m.ClientCores, true
			}
		case record.CPUServe:
			switch s.Process {
			case stages.AppServer:
				k.threads = 1 // one process, GOMAXPROCS=1
			case stages.CGIHost:
				k.threads = conns // a process per request
			}
		case record.CPUApp:
			if s.Process == stages.FastCGI {
				k.threads = 1 // one FastCGI process, GOMAXPROCS=1
			} else {
				k.threads, k.copies = 1, m.Cores // one app server per core, GOMAXPROCS=1 each
			}
		case record.CPUNginx:
			if s.Process == stages.FastCGI {
				k.threads, k.copies = 1, fastcgiWorkers
			} else {
				k.threads, k.copies = 1, m.Cores // worker_processes auto
			}
		case record.CPUMemcached:
			k.threads, k.copies = 1, memcachedThreads
		case record.CPUPostgres:
			switch s.Process {
			case stages.AppServer, stages.FastCGI:
				k.threads = poolSize
			case stages.Balanced:
				k.threads = poolSize * m.Cores // a pool per app server
			case stages.CGIHost:
				k.threads = conns // a connection, so a backend, per request
			}
		}
		if !k.own {
			// No more of a component's threads run at once than there
			// are cores: the rest of its requests queue for them.
			k.threads = min(k.threads, m.Cores)
		}
		out = append(out, k)
	}
	return out
}

// sharedCPU is the CPU-seconds per request, on and off the request's path,
// of the tasks that share the machine's cores.
func sharedCPU(ts []task) float64 {
	d := 0.0
	for _, t := range ts {
		if !t.own {
			d += t.cpu
		}
	}
	return d
}

// layered is the stage on machine m at n connections, think time z: the
// software layer's throughput with the hardware layer's stretch, and that
// stretch. The stretch is where next(s) = s, next being the hardware
// layer's answer to the software layer's utilisations at stretch s; a
// longer stretch slows every shared thread, so next(s) − s falls as s
// grows, and the root is bracketed between 1 and the most threads in
// service over the fewest cores free. It is found by regula falsi with
// the Illinois step (Dowell & Jarratt 1971): a few solutions of the
// software layer where a damped iteration took dozens.
func (s Stage) layered(m Machine, n int, z float64) (x, at float64, err error) {
	ts := s.tasks(m, n)
	shared, threads := sharedCPU(ts), 0
	for _, t := range ts {
		if !t.own {
			threads += t.threads * t.copies
		}
	}
	cores := float64(m.Cores) * (1 - m.Lost)
	free := func(x float64) float64 { return math.Max(cores*1e-3, cores-x*shared*s.Overlap) }
	var st []Station
	var own []bool
	// next solves the software layer with every shared demand stretched
	// by at: its throughput, and the stretch the hardware layer gives back.
	next := func(at float64) (x, stretch float64, err error) {
		st, own = st[:0], own[:0]
		for _, t := range ts {
			d := t.demand / float64(t.copies)
			if !t.own {
				d *= at
			}
			for range t.copies {
				st = append(st, Station{Name: t.id, Demand: d, Servers: t.threads})
				own = append(own, t.own)
			}
		}
		if x, err = Throughput(st, z+s.Latency, n); err != nil {
			return 0, 0, err
		}
		// Each shared thread is in service (wants a core) for its
		// utilisation of the time; work off the request's path takes its
		// share of the cores besides.
		var busy []float64
		for i := range st {
			for range st[i].Servers {
				if !own[i] {
					busy = append(busy, Utilisation(st[i], x))
				}
			}
		}
		return x, stretchOf(busy, free(x), n), nil
	}
	lo := 1.0
	x, nx, err := next(lo)
	if err != nil || nx-lo <= 1e-12 {
		return x, lo, err
	}
	hlo := nx - lo
	hi := math.Max(1, float64(min(threads, n))/free(x))
	xhi, nx, err := next(hi)
	if err != nil || nx-hi >= 0 {
		return xhi, hi, err
	}
	hhi, side := nx-hi, 0
	for range 100 {
		at = (lo*hhi - hi*hlo) / (hhi - hlo)
		if x, nx, err = next(at); err != nil {
			return 0, at, err
		}
		h := nx - at
		if math.Abs(h) <= 1e-9*at || hi-lo <= 1e-9*at {
			break
		}
		if h > 0 {
			lo, hlo = at, h
			if side > 0 {
				hhi /= 2
			}
			side = 1
		} else {
			hi, hhi = at, h
			if side < 0 {
				hlo /= 2
			}
			side = -1
		}
	}
	return x, at, nil
}

// stretchOf is E[K] / E[min(K, cores)] for K the number of threads in
// service, each independently with its probability in busy, and at most
// n (requests in circulation): how much longer a thread takes for its CPU
// than it would on a core of its own. cores may be fractional: what other
// programs and work off the requests' path left of them.
func stretchOf(busy []float64, cores float64, n int) float64 {
	dist := make([]float64, 1, len(busy)+1)
	dist[0] = 1
	for _, u := range busy {
		u = math.Min(1, math.Max(0, u))
		dist = append(dist, 0)
		for k := len(dist) - 1; k >= 1; k-- {
			dist[k] = dist[k]*(1-u) + dist[k-1]*u
		}
		dist[0] *= 1 - u
	}
	if len(dist) > n+1 {
		// No more threads are in service than there are requests.
		for _, p := range dist[n+1:] {
			dist[n] += p
		}
		dist = dist[:n+1]
	}
	total, k, done := 0.0, 0.0, 0.0
	for i, p := range dist {
		total += p
		k += float64(i) * p
		done += math.Min(float64(i), cores) * p
	}
	if done <= 0 || total <= 0 {
		return 1
	}
	return math.Max(1, k/done)
}
