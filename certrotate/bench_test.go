package certrotate

import (
	"fmt"
	"testing"
	"time"

	"github.com/voicecert/voicecert/awsidp/iamtest"
	"github.com/voicecert/voicecert/salesforce/sftest"
)

// benchLatency is the latency the fakes add to every call in the benchmarks.
const benchLatency = 20 * time.Millisecond

// benchSpec spreads n contact centers over 10 orgs (1 for n = 1) and 5 AWS
// accounts, every org the same shape: an org's contact centers are on two
// accounts at most, so no provider serves more than four orgs. (IAM allows 10
// keys per provider, all entities together; overlap adds one per org.)
func benchSpec(n int) fakesSpec {
	accounts := []string{"100000000001", "100000000002", "100000000003", "100000000004", "100000000005"}
	orgs := min(n, 10)
	spec := fakesSpec{
		RealClock: true,
		SFOpts:    []sftest.Option{sftest.WithLatency(benchLatency)},
		IAMOpts:   []iamtest.Option{iamtest.WithLatency(benchLatency)},
	}
	for i := range orgs {
		var o orgSpec
		for j := range n / orgs {
			o.CCs = append(o.CCs, ccSpec{Account: accounts[(i+j%2)%len(accounts)]})
		}
		spec.Orgs = append(spec.Orgs, o)
	}
	return spec
}

// BenchmarkPlanApply measures Build + Apply of a rotation (overlap, no grace,
// no propagation wait) for 1, 10 and 100 contact centers against the fakes,
// with 20 ms of real latency per call. Besides the time it reports:
//
//   - calls/cc: API calls (Salesforce and AWS, reads and writes, deploy polls
//     and SSO probes included) per contact center;
//   - ideal-ms: the latency times the longest chain of dependent calls. Every
//     call of one org depends on the one before (an org runs serially) and the
//     orgs are alike, so the chain is one org's calls: its Salesforce calls, and
//     its share of the AWS calls;
//   - x-ideal: the wall time over ideal-ms.
//
// Run it with: go test ./certrotate -run '^$' -bench PlanApply -benchtime 1x
func BenchmarkPlanApply(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("contact_centers=%d", n), func(b *testing.B) {
			spec := benchSpec(n)
			var wall time.Duration
			var calls, chain int
			for range b.N {
				b.StopTimer()
				w := newFakes(b, spec)
				w.iam.ResetRequests()
				w.cfg.PruneGrace, w.cfg.PropagationWait = -1, -1
				w.cfg.Concurrency = len(spec.Orgs)
				b.StartTimer()
				start := time.Now()
				p, err := Build(b.Context(), w.cfg)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := p.Apply(b.Context()); err != nil {
					b.Fatal(err)
				}
				wall += time.Since(start)
				b.StopTimer()
				longest := 0
				for _, srv := range w.sf {
					k := len(srv.Requests())
					calls += k
					longest = max(longest, k)
				}
				aws := len(w.iam.Requests())
				calls += aws
				chain += longest + aws/len(spec.Orgs)
			}
			ideal := time.Duration(chain/b.N) * benchLatency
			b.ReportMetric(float64(calls)/float64(b.N*n), "calls/cc")
			b.ReportMetric(float64(ideal.Milliseconds()), "ideal-ms")
			b.ReportMetric(float64(wall)/float64(b.N)/float64(ideal), "x-ideal")
		})
	}
}
