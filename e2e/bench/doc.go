// Package bench holds the scale benchmarks of the Kustomization reconciler
// (issue 5, "Benchmark"). They start their own control plane (etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler, kwok), git server
// and tether-reconciler inside the benchmark function, never in TestMain, so
// that `go test ./...` does not start anything here.
//
// Run them with `make bench`, or:
//
//	TETHER_BENCH_N=100,300,1000 go test -run '^$' -bench . -benchtime 1x -timeout 60m ./e2e/bench/
//
// TETHER_BENCH_N lists the numbers of Kustomizations (default "100,300", about
// 10 minutes in all on 2 cores); TETHER_BENCH_TIMEOUT bounds every wait
// (default 10m).
package bench
