// Command hello is the program the go-release example builds: small, with no
// dependencies outside the standard library, so that two build machines
// produce bit-identical binaries from the same checkout.
package main

import (
	"fmt"
	"os"
	"runtime/debug"
)

func main() {
	version := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok {
		version = bi.Main.Version
	}
	name := "world"
	if len(os.Args) > 1 {
		name = os.Args[1]
	}
	fmt.Printf("hello, %s (hello %s)\n", name, version)
}
