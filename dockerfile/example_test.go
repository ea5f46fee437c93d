package dockerfile_test

import (
	"fmt"

	"github.com/toto-dev/toto/dockerfile"
)

func ExampleParse() {
	src := `ARG REGISTRY=registry.example
FROM --platform=$BUILDPLATFORM ${REGISTRY}/golang:1.26 AS build
RUN go build -o /app .
FROM build AS test
FROM scratch
COPY --from=build /app /app
`
	f, err := dockerfile.Parse("Dockerfile", []byte(src), dockerfile.Options{
		BuildArgs: map[string]string{"REGISTRY": "mirror.example", "BUILDPLATFORM": "linux/amd64"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, fr := range f.Froms {
		fmt.Printf("line %d: %s %s %q\n", fr.Line, fr.Kind, fr.Image, fr.Platform)
	}
	// Output:
	// line 2: image mirror.example/golang:1.26 "linux/amd64"
	// line 4: stage build ""
	// line 5: scratch scratch ""
}

func ExampleFile_Pin() {
	src := "ARG BASE=registry.example/base:3\nFROM ${BASE}   AS build\nRUN make\n"
	f, err := dockerfile.Parse("Dockerfile", []byte(src), dockerfile.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	pinned, err := f.Pin(map[int]string{0: "sha256:5e1f0c0c6a1e5a2a6b1f3a8c9d2e4f60718293a4b5c6d7e8f90a1b2c3d4e5f60"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(pinned))
	// Output:
	// ARG BASE=registry.example/base:3
	// FROM registry.example/base:3@sha256:5e1f0c0c6a1e5a2a6b1f3a8c9d2e4f60718293a4b5c6d7e8f90a1b2c3d4e5f60   AS build
	// RUN make
}
