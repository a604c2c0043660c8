package driver

import (
	"time"

	"github.com/scalelab/scalelab/bench/workload"
	"github.com/scalelab/scalelab/stages"
)

// Stage is one thing the driver can measure: a stage of the table
// (stages.All), or its variant without the secondary indexes.
type Stage struct {
	stages.Stage
	// NoIndex runs the stage without its secondary indexes (serve
	// --no-index, restored afterwards): the talk's last lesson.
	NoIndex bool
}

// Key names the stage in records and tables ("4", "4-noindex").
func (st Stage) Key() string { return stages.Key(st.ID, st.NoIndex) }

// Title is the stage's name in records and tables ("cached, no index").
func (st Stage) Title() string {
	if st.NoIndex {
		return st.Name + ", no index"
	}
	return st.Name
}

// Talk is what the talk measured for it with its own tool (zero where the
// talk has no figure).
func (st Stage) Talk() float64 { return stages.TalkFor(st.Key(), "") }

// QueryTimeout is the stage's per-request database deadline (serve
// --query-timeout), zero for serve's default of 3 s. Without its index a
// user's page takes seconds even alone, and the talk's lesson is how slow
// the stage gets, which the default deadline would turn into 503s: the
// no-index variant gets NoIndexQueryTimeout, and the load waits that long
// for an answer.
func (st Stage) QueryTimeout() time.Duration {
	if st.NoIndex {
		return NoIndexQueryTimeout
	}
	return 0
}

// NoIndexQueryTimeout is the deadline of the stages run without their
// secondary indexes.
const NoIndexQueryTimeout = time.Minute

// LabStages are what "scalelab lab" measures, in order: every stage of
// the table, then the talk's stage without its index.
func LabStages() []Stage {
	var out []Stage
	for _, st := range stages.All {
		out = append(out, Stage{Stage: st})
	}
	noIndex, _ := stages.Find(stages.NoIndex.Stage)
	return append(out, Stage{Stage: noIndex, NoIndex: true})
}

// FindStage looks a stage up by ID or alias ("cgi", "cached", …).
func FindStage(s string) (Stage, bool) {
	st, ok := stages.Find(s)
	return Stage{Stage: st}, ok
}

// serveArgs are the arguments of "scalelab serve" that run st: its id, its
// variant and its deadline.
func (st Stage) serveArgs() []string {
	args := []string{st.ID}
	if st.NoIndex {
		args = append(args, "--no-index")
	}
	return append(args, st.deadlineArgs()...)
}

// referenceArgs run the reference stage st is verified against, with st's
// deadline: without the indexes the reference's pages are as slow as the
// stage's. Not with --no-index: the stage has dropped the indexes, and a
// second serve would restore them when it ends, under the stage's feet.
func (st Stage) referenceArgs() []string {
	return append([]string{stages.Reference().ID}, st.deadlineArgs()...)
}

func (st Stage) deadlineArgs() []string {
	if d := st.QueryTimeout(); d > 0 {
		return []string{"--query-timeout", d.String()}
	}
	return nil
}

// Dataset is what the workload needs to know of the database.
type Dataset struct {
	Users  int
	Photos int64
	Seed   uint64
}

// photos is the visitor mix the driver loads every stage with: a tenth
// of the visitors logged in, most of them returning with a session from
// an earlier visit, and one in a hundred posting a comment.
func photos(ds Dataset) workload.Photos {
	return workload.Photos{Seed: ds.Seed, Users: ds.Users, Photos: int(ds.Photos), LoginShare: 0.1, CommentShare: 0.01, Returning: 0.9}
}
