// Reference formatter for tests/fmt_differential.rs and benches/fmt.rs: many documents
// through hclwrite.Format (and hclsyntax.ParseConfig's verdict) in one process.
//
// Input on stdin: for each document a 4-byte little-endian length, then its bytes.
// Output on stdout, for each document: one byte (1 when hclsyntax parses it without
// error, 0 otherwise), a 4-byte little-endian line and column of the first error (0 when
// none), a 4-byte little-endian length, then hclwrite.Format of the document.
// With the argument "bench" it reads all documents, formats them all (no parse), and
// prints only the nanoseconds the formatting took, measured inside the process.
package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

func readDocs(r io.Reader) [][]byte {
	in := bufio.NewReader(r)
	var docs [][]byte
	for {
		var n uint32
		if err := binary.Read(in, binary.LittleEndian, &n); err != nil {
			return docs
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(in, buf); err != nil {
			return docs
		}
		docs = append(docs, buf)
	}
}

func main() {
	docs := readDocs(os.Stdin)
	if len(os.Args) > 1 && os.Args[1] == "bench" {
		start := time.Now()
		total := 0
		for _, d := range docs {
			total += len(hclwrite.Format(d))
		}
		fmt.Printf("%d %d\n", time.Since(start).Nanoseconds(), total)
		return
	}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for _, d := range docs {
		_, diags := hclsyntax.ParseConfig(d, "doc.pp", hcl.Pos{Line: 1, Column: 1})
		ok := byte(1)
		var line, col uint32
		if diags.HasErrors() {
			ok = 0
			for _, diag := range diags {
				if diag.Severity == hcl.DiagError && diag.Subject != nil {
					line = uint32(diag.Subject.Start.Line)
					col = uint32(diag.Subject.Start.Column)
					break
				}
			}
		}
		formatted := hclwrite.Format(d)
		out.WriteByte(ok)
		binary.Write(out, binary.LittleEndian, line)
		binary.Write(out, binary.LittleEndian, col)
		binary.Write(out, binary.LittleEndian, uint32(len(formatted)))
		out.Write(formatted)
	}
}
