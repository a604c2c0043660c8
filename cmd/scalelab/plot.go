package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/bench/report"
	"github.com/scalelab/scalelab/stages"
)

func newPlotCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "plot RUN_DIR|LOAD_RECORD",
		Short: "Draw a run's charts and write its report (report.html, report.md)",
		Long: `Draw the charts of a run recorded by scalelab lab or bench from its run.json
alone, into the run's folder: throughput by stage with the speed-up over
stage 1 beside the talk's, orders of magnitude, latency percentiles, the
timeline and, after bench --sweep, throughput against concurrency, each as
PNG (1600x900) and SVG; report.html (one self-contained file) tells
the talk's story with this run's numbers, report.md has the same tables.
Drawing a run again gives the same files.

Given a record of scalelab load --out instead, plot draws its latency by
percentile and its timeline beside it: NAME-latency.png and
NAME-timeline.png (and .svg), and writes its latency distribution as
NAME.hgrm for HdrHistogram's plotter.

A run's plot also writes its exports again from run.json: summary.csv,
bench.txt (for benchstat) and a latency-<stage>-<tool>.hgrm per result.`,
		Example: `  scalelab plot results/20261128T161101Z-vm
  xdg-open results/20261128T161101Z-vm/report.html`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("plot takes one run folder (written by scalelab lab or bench) or one record of scalelab load --out")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			files, err := report.Write(args[0])
			if err != nil {
				return err
			}
			if kind, _ := report.Identify(args[0]); kind == report.LoadRecord {
				for _, f := range files {
					if filepath.Ext(f) == ".png" {
						fmt.Fprintf(cmd.OutOrStdout(), "chart: %s (and .svg)\n", f)
					}
				}
				return nil
			}
			printReport(cmd.OutOrStdout(), files)
			return nil
		},
	}
}

// printReport says where a report's files went, the report first.
func printReport(w io.Writer, files []string) {
	var charts int
	for _, f := range files {
		if filepath.Ext(f) == ".png" {
			charts++
		}
	}
	if len(files) > 0 {
		dir := filepath.Dir(files[0])
		fmt.Fprintf(w, "report: %s (%d charts as PNG and SVG, report.md)\n", filepath.Join(dir, "report.html"), charts)
	}
}

type compareOptions struct {
	Out string
	// FailOn is --fail-on-regression: "5%", or "" for no gate.
	FailOn string
}

// parseShare reads a share as a user writes it: "5%" or "5" (percent).
func parseShare(flag, s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%")), 64)
	if err != nil || v <= 0 || v >= 100 || math.IsNaN(v) {
		return 0, usagef("%s takes a percentage between 0 and 100, such as 5%%, got %q", flag, s)
	}
	return v / 100, nil
}

func newCompareCmd() *cobra.Command {
	o := &compareOptions{}
	cmd := &cobra.Command{
		Use:   "compare RUN_A RUN_B",
		Short: "Compare two runs stage by stage: req/s, ratio, and whether it is beyond noise",
		Long: `Compare two runs (two machines, two versions, two settings) stage by stage,
each given as its folder or as its bench.txt (a baseline kept by CI):
both medians, the ratio B/A, and whether the difference is beyond the noise
of the repeats. With enough repeats (4 and 4, or 3 and 5) that is benchstat's
Mann-Whitney U test at p < 0.05; with fewer, whether the ranges of the
repeats overlap, and the table says which; with one repeat it cannot tell,
and says so. Below the table, notes say when a run is a fault run, when the
runs were taken on different machines or with different settings. A chart
with both runs side by side is written as compare.png and compare.svg into
--out.

--fail-on-regression 5% makes compare a gate for CI: it exits 1 when a
stage of B is slower than in A by more than 5% beyond the noise (or, with a
single repeat, by the ratio alone), after the table is printed.`,
		Example: `  scalelab compare results/20261128T161101Z-vm results/20261130T090000Z-laptop
  scalelab compare old/ new/ --out /tmp/cmp
  scalelab compare baseline/bench.txt results/<run> --fail-on-regression 5%`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usagef("compare takes two run folders: RUN_A RUN_B")
			}
			if o.FailOn != "" {
				if _, err := parseShare("--fail-on-regression", o.FailOn); err != nil {
					return err
				}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := report.LoadForCompare(args[0])
			if err != nil {
				return err
			}
			b, err := report.LoadForCompare(args[1])
			if err != nil {
				return err
			}
			nameA, nameB := report.RunName(args[0]), report.RunName(args[1])
			cs := report.Compare(a, b)
			out := cmd.OutOrStdout()
			if err := report.WriteComparison(out, nameA, nameB, cs); err != nil {
				return err
			}
			for _, n := range report.CompareNotes(a, b, nameA, nameB) {
				fmt.Fprintf(out, "note: %s\n", n)
			}
			if err := os.MkdirAll(o.Out, 0o755); err != nil {
				return fmt.Errorf("compare: %w", err)
			}
			files, _, err := report.WriteChart(report.CompareChart(a, b, nameA, nameB, cs), o.Out)
			if err != nil {
				return err
			}
			if len(files) > 0 {
				fmt.Fprintf(out, "chart: %s (and .svg)\n", files[0])
			}
			if o.FailOn == "" {
				return nil
			}
			share, _ := parseShare("--fail-on-regression", o.FailOn) // checked in Args
			return regressionGate(out, cs, share)
		},
	}
	cmd.Flags().StringVar(&o.Out, "out", ".", "`folder` for compare.png and compare.svg")
	cmd.Flags().StringVar(&o.FailOn, "fail-on-regression", "", "exit 1 when a stage of B is slower than A by more than this `share` (e.g. 5%) beyond the noise")
	return cmd
}

// regressionGate prints each stage of B slower than A by more than share
// and fails (exit 1) if there is one.
func regressionGate(out io.Writer, cs []report.Comparison, share float64) error {
	regs := report.Regressions(cs, share)
	if len(regs) == 0 {
		fmt.Fprintf(out, "no stage slower by more than %g%% beyond the noise\n", 100*share)
		return nil
	}
	var names []string
	for _, c := range regs {
		how := c.Method
		if c.Unknown {
			how += ", judged on the ratio alone"
		}
		fmt.Fprintf(out, "REGRESSION: %s (%s): B is %.1f%% slower than A (%s)\n", c.Label, c.Tool, 100*(1-c.Ratio), how)
		names = append(names, fmt.Sprintf("%s %.1f%%", c.Label, 100*(1-c.Ratio)))
	}
	return fmt.Errorf("compare: %d stage(s) slower by more than %g%%: %s", len(regs), 100*share, strings.Join(names, ", "))
}

type mergeOptions struct {
	Out string
	// Run and Stage make a run folder of the merged record: run.json for
	// the stage the generators loaded, which plot draws as any run.
	Run, Stage string
}

func newMergeCmd() *cobra.Command {
	o := &mergeOptions{}
	cmd := &cobra.Command{
		Use:   "merge RECORD...",
		Short: "Merge load-generator records of one load into one record",
		Long: `Merge records written by scalelab load --out that loaded the same server at
the same time (several client processes or machines) into one record, as if
one client had sent every request: counts add up, HDR histograms merge
bucket by bucket (so percentiles are those of all requests), timelines add
second by second. The merged record goes to --out, or to standard output.
Records whose time spans did not overlap are flagged: their rates add up to
one the server never saw.

With --run DIR --stage STAGE it also writes a run folder (run.json,
summary.csv, bench.txt) of that stage measured by the merged load, which
"scalelab plot DIR" draws into the same charts and report as a run of
scalelab bench: how a load from several hosts or a Kubernetes cluster ends.
The stage was not started or verified by scalelab, so the run says
"verification skipped", and it has no servers' CPU.`,
		Example: `  scalelab merge client1.json client2.json --out merged.json
  scalelab merge run-*.json > merged.json
  scalelab merge load-0.json load-1.json --run results/k8s-stage3 --stage 3 && scalelab plot results/k8s-stage3`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("merge takes one or more record files (written by scalelab load --out)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if (o.Run == "") != (o.Stage == "") {
				return usagef("merge: --run and --stage go together: the run folder is of the stage the records loaded")
			}
			if o.Stage != "" {
				if _, _, err := record.StageOfKey(o.Stage); err != nil {
					return usagef("merge: --stage: %v", err)
				}
			}
			m, err := report.MergeFiles(args...)
			if err != nil {
				return err
			}
			// Warnings go to standard error, where a redirected merge
			// still shows them; the record keeps them too.
			for _, w := range m.Notes {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
			}
			if o.Out == "" && o.Run == "" {
				return writeRecordJSON(cmd.OutOrStdout(), m)
			}
			if o.Out != "" {
				if err := m.WriteFile(o.Out); err != nil {
					return err
				}
			}
			if err := record.WriteSummary(cmd.OutOrStdout(), m); err != nil {
				return err
			}
			if o.Out != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "merged %d records into %s\n", len(args), o.Out)
			}
			if o.Run == "" {
				return nil
			}
			run, err := record.RunOfLoad(o.Stage, m)
			if err != nil {
				return fmt.Errorf("merge: %w", err)
			}
			if err := os.MkdirAll(o.Run, 0o755); err != nil {
				return fmt.Errorf("merge: %w", err)
			}
			if err := run.Write(o.Run); err != nil {
				return fmt.Errorf("merge: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "run: %s (stage %s, %d records merged; scalelab plot %s draws it)\n",
				filepath.Join(o.Run, "run.json"), o.Stage, len(args), o.Run)
			return nil
		},
	}
	cmd.Flags().StringVarP(&o.Out, "out", "o", "", "write the merged record to this `file` (default: standard output)")
	cmd.Flags().StringVar(&o.Run, "run", "", "also write a run `folder` (run.json, summary.csv, bench.txt) of --stage, for plot")
	cmd.Flags().StringVar(&o.Stage, "stage", "", "with --run: the `stage` the records loaded ("+stageChoices+"; "+stages.NoIndex.Stage+stages.NoIndex.Suffix+" without its index)")
	return cmd
}

// writeRecordJSON writes a record as WriteFile does, to w.
func writeRecordJSON(w io.Writer, r *record.Record) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("merge: encode: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
