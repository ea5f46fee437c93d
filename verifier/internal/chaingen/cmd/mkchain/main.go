// Command mkchain writes a generated supply chain to a folder, for
// bench/verify.sh and for reproducing differential-test cases:
//
//	mkchain -n 100000 -out DIR   a four-step chain with 100,000 artifacts per main step
//	mkchain -seed 42 -out DIR    the random chain of differential-test seed 42
//
// DIR gets root.layout (signed by the owner), owner.pub (securesystemslib
// JSON, for toto and Python in-toto), owner.pem (for in-toto-golang) and
// links/.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/toto-dev/toto/verifier/internal/chaingen"
)

func main() {
	n := flag.Int("n", 0, "artifacts per main step of the big benchmark chain")
	seed := flag.Int64("seed", 0, "differential-test seed to reproduce instead")
	out := flag.String("out", "", "folder to write (required)")
	flag.Parse()
	if *out == "" || (*n == 0) == (*seed == 0) {
		fmt.Fprintln(os.Stderr, "usage: mkchain (-n ARTIFACTS | -seed SEED) -out DIR")
		os.Exit(2)
	}
	if *n > 0 {
		if err := chaingen.Big(*n).WriteDir(*out); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	c, err := chaingen.Generate(*seed, chaingen.Options{})
	if err == nil {
		err = c.Write(*out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(c.Describe())
}
