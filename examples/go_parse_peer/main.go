// Go hclsyntax peer of examples/scaling_report.rs: what Powerpipe's own parser costs.
//
// Input on stdin: the paths of the files to parse, one per line (the file list modlens's
// discovery found, so every peer reads the same files). Arguments: ROUNDS THREADS WARMUP.
// Each round reads every file (os.ReadFile) and parses it with hclsyntax.ParseConfig, on
// THREADS goroutines taking files in turn; the parsed files are dropped, as a timing peer
// (no evaluation). With WARMUP 1 an untimed round comes first (code and heap warm: the
// caller skips it on large inputs, where one round takes a minute); a garbage collection
// runs untimed before each timed round.
// Output on stdout: one JSON object with the file and byte counts, the files with error
// diagnostics, and the milliseconds of each timed round, measured inside this process.
package main

import (
	"bufio"
	"encoding/json"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

type result struct {
	Files      int       `json:"files"`
	Bytes      int64     `json:"bytes"`
	Unreadable int64     `json:"unreadable"`
	WithErrors int64     `json:"with_errors"`
	Threads    int       `json:"threads"`
	Go         string    `json:"go"`
	RoundsMs   []float64 `json:"rounds_ms"`
}

// parseAll reads and parses every file on `threads` goroutines: bytes read, unreadable
// files, files with error diagnostics.
func parseAll(paths []string, threads int) (int64, int64, int64) {
	var next, bytes, unreadable, withErrors int64
	var wg sync.WaitGroup
	for t := 0; t < threads; t++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := atomic.AddInt64(&next, 1) - 1
				if i >= int64(len(paths)) {
					return
				}
				src, err := os.ReadFile(paths[i])
				if err != nil {
					atomic.AddInt64(&unreadable, 1)
					continue
				}
				atomic.AddInt64(&bytes, int64(len(src)))
				_, diags := hclsyntax.ParseConfig(src, paths[i], hcl.Pos{Line: 1, Column: 1})
				if diags.HasErrors() {
					atomic.AddInt64(&withErrors, 1)
				}
			}
		}()
	}
	wg.Wait()
	return bytes, unreadable, withErrors
}

func main() {
	rounds, threads, warmup := 3, runtime.NumCPU(), true
	if len(os.Args) > 1 {
		if n, err := strconv.Atoi(os.Args[1]); err == nil && n > 0 {
			rounds = n
		}
	}
	if len(os.Args) > 2 {
		if n, err := strconv.Atoi(os.Args[2]); err == nil && n > 0 {
			threads = n
		}
	}
	if len(os.Args) > 3 {
		warmup = os.Args[3] != "0"
	}
	runtime.GOMAXPROCS(threads)
	var paths []string
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	for in.Scan() {
		if line := in.Text(); line != "" {
			paths = append(paths, line)
		}
	}
	r := result{Files: len(paths), Threads: threads, Go: runtime.Version()}
	if warmup {
		parseAll(paths, threads)
	}
	for i := 0; i < rounds; i++ {
		runtime.GC()
		start := time.Now()
		r.Bytes, r.Unreadable, r.WithErrors = parseAll(paths, threads)
		r.RoundsMs = append(r.RoundsMs, float64(time.Since(start).Nanoseconds())/1e6)
	}
	out, _ := json.Marshal(r)
	os.Stdout.Write(append(out, '\n'))
}
