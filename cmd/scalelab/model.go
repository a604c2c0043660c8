package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/scalelab/scalelab/bench"
	"github.com/scalelab/scalelab/bench/model"
	"github.com/scalelab/scalelab/bench/report"
)

type modelOptions struct {
	Cores, Machines, PagesPerDay, SLO string
	MachineCores                      int
	Think                             string
	Against                           string
	ServerCPUs, ClientCPUs            string
}

func newModelCmd() *cobra.Command {
	o := &modelOptions{}
	cmd := &cobra.Command{
		Use:   "model RUN_DIR",
		Short: "Predict each stage with more cores and more machines, from a run's CPU per request",
		Long: `Turn a run's measured costs — each component's CPU per request — into a
queueing model of each stage (bench/model, docs/model.md) and print:

  - the model beside the measurement: the run's own machine and
    connections, predicted and measured req/s and the error; after
    --sweep, the MVA curve beside every measured connection count;
  - predicted req/s on one machine of each --cores count (the load
    generator elsewhere), and the bottleneck, where it moves;
  - with --machines, the req/s of tiers on machines of their own;
  - the machines of --machine-cores cores per tier needed for each
    --pages-per-day at the run's page mix within the --slo.

--against OTHER_RUN predicts OTHER_RUN's machine (its cores, or the CPUs
it gave its servers and its load generator: as its record says when it
was run with lab --client-cpus, or as --server-cpus and --client-cpus say)
and connections from this run's costs, and prints the prediction beside
what OTHER_RUN measured.

A run with --sweep 1,... gives the model a lone request's time no CPU
counter sees (wake-ups, the loopback): measured at one connection, it is
then a delay in every prediction from that run.`,
		Example: `  scalelab model results/20261128T184105Z-vm
  scalelab model results/20261128T184105Z-vm --machines app=4,db=2,nginx=1,memcached=1 --machine-cores 16
  scalelab model results/2-cores --against results/1-server-core`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("model takes one run folder (written by scalelab lab or bench)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := o.options()
			if err != nil {
				return err
			}
			run, err := report.Load(args[0])
			if err != nil {
				return err
			}
			if o.Against != "" {
				other, err := report.Load(o.Against)
				if err != nil {
					return err
				}
				checks, m, err := model.Against(run, other, opts)
				if err != nil {
					return err
				}
				return model.WriteAgainst(cmd.OutOrStdout(), m, checks)
			}
			a, err := model.Analyse(run, opts)
			if err != nil {
				return err
			}
			if len(a.Stages) == 0 {
				return fmt.Errorf("%s: no stage with CPU per request to model (a run of scalelab lab or bench with the built-in tool has them)", args[0])
			}
			return model.WriteText(cmd.OutOrStdout(), a)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Cores, "cores", "1,2,4,8,16,32,64", "core counts of one machine to predict")
	f.StringVar(&o.Machines, "machines", "", "tiers on machines of their own: app=N,db=M,nginx=L,memcached=K (db: a primary and read replicas)")
	f.StringVar(&o.PagesPerDay, "pages-per-day", "1e7,1e8,1e9", "page views a day to plan machines for")
	f.StringVar(&o.SLO, "slo", "p99=100ms", "latency goal of the plans")
	f.IntVar(&o.MachineCores, "machine-cores", 0, "cores of each machine in plans and --machines (0: the run's)")
	f.StringVar(&o.Think, "think", "0s", "users' think time between an answer and their next request: adds req/s and response time for 10, 100 and 1,000 such users (the checks have none: scalelab load sends at once)")
	f.StringVar(&o.Against, "against", "", "another run to predict from this one's costs, beside what it measured")
	f.StringVar(&o.ServerCPUs, "server-cpus", "", "the CPUs the predicted run gave its servers (0 or 1-3: as the kernel lists them)")
	f.StringVar(&o.ClientCPUs, "client-cpus", "", "the CPUs the predicted run gave its load generator")
	return cmd
}

// options checks every flag before anything is read: bad input exits 2.
func (o *modelOptions) options() (model.Options, error) {
	var out model.Options
	for _, c := range strings.Split(o.Cores, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 || n > 1<<16 {
			return out, usagef("--cores %q: write core counts of 1 or more, comma-separated (1,2,4,64)", o.Cores)
		}
		out.Cores = append(out.Cores, n)
	}
	for _, p := range strings.Split(o.PagesPerDay, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || !(v > 0) || v > 1e15 {
			return out, usagef("--pages-per-day %q: write page views a day, comma-separated (1e7,2.5e8)", o.PagesPerDay)
		}
		out.PagesPerDay = append(out.PagesPerDay, v)
	}
	slo, err := bench.ParseSLO(o.SLO)
	if err != nil {
		return out, usagef("--slo: %v", strings.TrimPrefix(err.Error(), bench.ErrUsage.Error()+": "))
	}
	out.SLO = model.SLO{Quantile: slo.Percentile, Seconds: slo.Max.Seconds()}
	if o.Machines != "" {
		m, err := model.ParseDeployment(o.Machines)
		if err != nil {
			return out, usagef("%v", err)
		}
		out.Deployment.Machines = m
	}
	if o.MachineCores < 0 || o.MachineCores > 1<<16 {
		return out, usagef("--machine-cores must be 1 or more (0: the run's cores), got %d", o.MachineCores)
	}
	out.MachineCores = o.MachineCores
	think, err := time.ParseDuration(o.Think)
	if err != nil || think < 0 {
		return out, usagef("--think %q: a duration of 0 or more (0s, 500ms)", o.Think)
	}
	out.Think = think.Seconds()
	for _, l := range []struct{ flag, v string }{{"--server-cpus", o.ServerCPUs}, {"--client-cpus", o.ClientCPUs}} {
		if _, err := model.CPUCount(l.v); err != nil {
			return out, usagef("%s: %v", l.flag, strings.TrimPrefix(err.Error(), "model: "))
		}
	}
	if (o.ServerCPUs != "" || o.ClientCPUs != "") && o.Against == "" {
		return out, usagef("--server-cpus and --client-cpus describe the run given with --against")
	}
	out.ServerCPUs, out.ClientCPUs = o.ServerCPUs, o.ClientCPUs
	return out, nil
}
