// Package model turns one run's measured costs into predictions: what
// each stage would answer with more cores, or with its tiers on machines
// of their own, and how many machines a day of 10 million, 100 million or
// a billion page views would take. It is the bridge from the 2-core
// machine a lab runs on to the scale the talk asked about ("how many
// machines do I need?"), and it says where its predictions can be checked
// against measurement, and by how much they miss.
//
// The method is operational analysis and mean value analysis of a closed
// queueing network, as in Menascé, Almeida & Dowdy, "Performance by
// Design" (2004), and Jain, "The Art of Computer Systems Performance
// Analysis" (1991), ch. 33–35:
//
//   - service demands: each component's CPU-seconds per request (the
//     record's Where: nginx, the app servers, PostgreSQL, memcached, the
//     load generator), the stage's constraints from the stages table
//     (stage 2's one process at GOMAXPROCS=1, one app server per core in
//     stages 3 and 4, a process per request in CGI);
//   - the utilisation law U = X·D/m and the bottleneck law X ≤ min_k m_k/D_k;
//   - exact MVA for throughput and response time against the number of
//     connections (think time 0, the closed loop of scalelab load, or
//     given), with multi-server stations solved exactly (see MVA);
//   - one shared machine of N cores in two layers, after the method of
//     layers (Rolia & Sevcik 1995): the components' own queues, and the
//     cores their threads wait for (layers.go); and tiers on machines of
//     their own (Deployment, Plan), naming the bottleneck and where it
//     moves.
//
// It is a pure function of a record: no servers, no clock. The tests
// reproduce published textbook answers (Lazowska et al. 1984; Jain 1991),
// the finite-population queue's closed form and the product form summed
// state by state.
package model
