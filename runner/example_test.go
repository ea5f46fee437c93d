package runner_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/runner"
)

func ExampleDigest() {
	ds, err := runner.Digest(strings.NewReader("abc"), runner.DigestOptions{Algorithms: []string{"sha256", "sha512"}})
	if err != nil {
		panic(err)
	}
	fmt.Println(ds["sha256"])
	// Output: ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
}

func ExampleRecordArtifacts() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	os.MkdirAll(filepath.Join(dir, "src", "node_modules"), 0o755)
	os.WriteFile(filepath.Join(dir, "src", "main.c"), []byte("int main;"), 0o644)
	os.WriteFile(filepath.Join(dir, "src", "node_modules", "dep.js"), []byte("x"), 0o644)

	artifacts, err := runner.RecordArtifacts(context.Background(), []string{"src"}, runner.HashOptions{
		BasePath: dir,
		Exclude:  []string{"node_modules"},
	})
	if err != nil {
		panic(err)
	}
	for _, p := range artifacts.Paths() {
		fmt.Println(p, artifacts[p]["sha256"][:16])
	}
	// Output: src/main.c d0044c695f618c01
}

func ExampleRun() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "input.txt"), []byte("hello\n"), 0o644)

	res, err := runner.Run(context.Background(), runner.Options{
		Name:      "copy",
		Materials: []string{"input.txt"},
		Products:  []string{"output.txt"},
		Command:   []string{"cp", "input.txt", "output.txt"},
		Hash:      runner.HashOptions{BasePath: dir},
		Exec:      runner.ExecOptions{Dir: dir},
	})
	if err != nil {
		panic(err)
	}
	l := res.Link
	fmt.Println(l.Materials.Paths(), l.Products.Paths(), l.ByProducts["return-value"])
	fmt.Println(l.Materials["input.txt"].Equal(l.Products["output.txt"]))

	// Sign it and write copy.<keyid>.link.
	key, _ := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
	path, err := runner.Write(context.Background(), dir, l, key, runner.Metablock)
	if err != nil {
		panic(err)
	}
	fmt.Println(filepath.Base(path) == link.FileName("copy", key.ID()))
	// Output:
	// [input.txt] [output.txt] 0
	// true
	// true
}
