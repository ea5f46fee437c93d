package dockerfile_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/toto-dev/toto/dockerfile"
)

type fromWant struct {
	line     int
	image    string
	platform string
	stage    string
	kind     dockerfile.Kind
}

func TestParseFroms(t *testing.T) {
	tests := []struct {
		name string
		src  string
		opts dockerfile.Options
		want []fromWant
	}{
		{"single", "FROM alpine:3.20\nRUN true\n", dockerfile.Options{},
			[]fromWant{{1, "alpine:3.20", "", "", dockerfile.KindImage}}},
		{"multi-stage with stage reference and scratch",
			"FROM golang:1.26 AS build\nRUN go build\nFROM build AS test\nFROM scratch\nCOPY --from=build /x /x\n", dockerfile.Options{},
			[]fromWant{
				{1, "golang:1.26", "", "build", dockerfile.KindImage},
				{3, "build", "", "test", dockerfile.KindStage},
				{4, "scratch", "", "", dockerfile.KindScratch},
			}},
		{"stage names are lowercased, references compared exactly",
			"FROM alpine AS Base\nFROM base\nFROM Base\n", dockerfile.Options{},
			[]fromWant{
				{1, "alpine", "", "base", dockerfile.KindImage},
				{2, "base", "", "", dockerfile.KindStage},
				{3, "Base", "", "", dockerfile.KindImage},
			}},
		{"a stage named later is an image here",
			"FROM build\nFROM alpine AS build\n", dockerfile.Options{},
			[]fromWant{
				{1, "build", "", "", dockerfile.KindImage},
				{2, "alpine", "", "build", dockerfile.KindImage},
			}},
		{"ARG defaults, ${VAR:-default}, $VAR, quotes",
			"ARG REG=registry.example\nARG NAME=\"app\"\nARG TAG\nFROM ${REG}/${NAME}:${TAG:-1.0}\nFROM $REG/base\n", dockerfile.Options{},
			[]fromWant{
				{4, "registry.example/app:1.0", "", "", dockerfile.KindImage},
				{5, "registry.example/base", "", "", dockerfile.KindImage},
			}},
		{"build args override defaults and later defaults see them",
			"ARG REG=registry.example\nARG IMG=${REG}/app\nFROM ${IMG}\n",
			dockerfile.Options{BuildArgs: map[string]string{"REG": "mirror.example"}},
			[]fromWant{{3, "mirror.example/app", "", "", dockerfile.KindImage}}},
		{"build args for undeclared ARGs are not seen",
			"ARG A=x\nFROM img${B}\n",
			dockerfile.Options{BuildArgs: map[string]string{"B": "y"}},
			[]fromWant{{2, "img", "", "", dockerfile.KindImage}}},
		{"ARGs in a stage do not reach the next FROM",
			"FROM alpine\nARG BASE=debian\nFROM ${BASE:-busybox}\n", dockerfile.Options{},
			[]fromWant{
				{1, "alpine", "", "", dockerfile.KindImage},
				{3, "busybox", "", "", dockerfile.KindImage},
			}},
		{"--platform with automatic ARGs",
			"FROM --platform=$BUILDPLATFORM golang AS build\nFROM --platform=linux/arm64/v8 alpine\nFROM --platform=${TARGETPLATFORM} debian\n",
			dockerfile.Options{Platform: "linux/s390x", BuildArgs: map[string]string{"BUILDPLATFORM": "linux/ppc64le"}},
			[]fromWant{
				{1, "golang", "linux/ppc64le", "build", dockerfile.KindImage},
				{2, "alpine", "linux/arm64/v8", "", dockerfile.KindImage},
				{3, "debian", "linux/s390x", "", dockerfile.KindImage},
			}},
		{"continuations, comments, lowercase keyword, heredocs",
			"# comment\nfrom \\\n  # inside\n  alpine:3 \\\n  as one\nRUN <<EOF\nFROM not-an-instruction\nEOF\nFROM two\n", dockerfile.Options{},
			[]fromWant{
				{2, "alpine:3", "", "one", dockerfile.KindImage},
				{9, "two", "", "", dockerfile.KindImage},
			}},
		{"escape directive",
			"# escape=`\nARG X=img\nFROM `\n  ${X}:1 AS w\n", dockerfile.Options{},
			[]fromWant{{3, "img:1", "", "w", dockerfile.KindImage}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := dockerfile.Parse("Dockerfile", []byte(tt.src), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []fromWant
			for _, fr := range f.Froms {
				got = append(got, fromWant{fr.Line, fr.Image, fr.Platform, fr.Stage, fr.Kind})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseErrorsNameTheLine(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"no FROM", "ARG A=1\n", "Dockerfile: no FROM"},
		{"instruction before FROM", "ARG A\nRUN true\nFROM x\n", "Dockerfile:2: RUN before the first FROM"},
		{"empty base name", "ARG BASE\nFROM ${BASE}\n", "Dockerfile:2: FROM ${BASE}: the base name is empty"},
		{"bad stage name", "FROM alpine AS 1st\n", `Dockerfile:1: invalid stage name "1st"`},
		{"extra words", "FROM alpine AS a b\n", "Dockerfile:1: FROM takes an image"},
		{"unknown flag", "FROM --pull=always alpine\n", `Dockerfile:1: FROM: unknown flag "--pull=always"`},
		{"bad platform", "FROM --platform=a/b/c/d alpine\n", "Dockerfile:1: FROM --platform="},
		{"empty platform", "ARG P\nFROM --platform=$P alpine\n", "Dockerfile:2: FROM --platform=$P is empty"},
		{"bad substitution", "FROM ${X:?needX}\n", "Dockerfile:1: FROM ${X:?needX}"},
		{"bad escape directive", "# escape=x\nFROM a\n", "Dockerfile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := dockerfile.Parse("Dockerfile", []byte(tt.src), dockerfile.Options{})
			if err == nil {
				t.Fatal("parsed")
			}
			if !errors.Is(err, dockerfile.ErrSyntax) {
				t.Errorf("%v is not ErrSyntax", err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %q, want prefix %q", err, tt.want)
			}
		})
	}
}

func TestPinKeepsEveryOtherByte(t *testing.T) {
	const d1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	const d2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	tests := []struct {
		name, src string
		pins      map[int]string
		want      string
	}{
		{"tag kept, digest added, CRLF kept",
			"# syntax=docker/dockerfile:1\r\nFROM  --platform=linux/amd64   alpine:3.20  AS  base\r\nRUN echo FROM alpine:3.20\r\n",
			map[int]string{0: d1},
			"# syntax=docker/dockerfile:1\r\nFROM  --platform=linux/amd64   alpine:3.20@" + d1 + "  AS  base\r\nRUN echo FROM alpine:3.20\r\n"},
		{"ARG-substituted name pinned to its value; stages untouched",
			"ARG BASE=reg.example/app:1\nFROM ${BASE} AS b\nFROM b\nFROM other\n",
			map[int]string{0: d1, 2: d2},
			"ARG BASE=reg.example/app:1\nFROM reg.example/app:1@" + d1 + " AS b\nFROM b\nFROM other@" + d2 + "\n"},
		{"already pinned",
			"FROM app@" + d1 + "\n", map[int]string{0: d1}, "FROM app@" + d1 + "\n"},
		{"repinned",
			"FROM app:1@" + d2 + "\n", map[int]string{0: d1}, "FROM app:1@" + d1 + "\n"},
		{"continuation with a comment line",
			"FROM \\\n# c\n   img \\\n AS x\nRUN a\n", map[int]string{0: d1},
			"FROM \\\n# c\n   img@" + d1 + " \\\n AS x\nRUN a\n"},
		{"name split over lines is rewritten onto one line",
			"FROM --platform=linux/amd64 im\\\nage AS x\nRUN a", map[int]string{0: d1},
			"FROM --platform=linux/amd64 image@" + d1 + " AS x\nRUN a"},
		{"no trailing newline", "FROM a", map[int]string{0: d1}, "FROM a@" + d1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := dockerfile.Parse("Dockerfile", []byte(tt.src), dockerfile.Options{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.Pin(tt.pins)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
			// The pinned file parses to the same stages, now by digest.
			g, err := dockerfile.Parse("pinned", got, dockerfile.Options{})
			if err != nil {
				t.Fatalf("pinned file does not parse: %v", err)
			}
			for i, d := range tt.pins {
				if want := dockerfile.Pinned(f.Froms[i].Image, d); g.Froms[i].Image != want {
					t.Errorf("FROM %d reads %q after pinning, want %q", i, g.Froms[i].Image, want)
				}
			}
		})
	}
}

func TestPinRefusesStages(t *testing.T) {
	f, err := dockerfile.Parse("Dockerfile", []byte("FROM a AS s\nFROM s\n"), dockerfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Pin(map[int]string{1: "sha256:00"}); err == nil || !strings.Contains(err.Error(), "Dockerfile:2") {
		t.Fatalf("pinning a stage: %v", err)
	}
}

// FuzzParse: no input makes Parse or Pin panic, and pinning every image
// keeps the file parsing to the same FROMs with the same lines.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"FROM alpine\n",
		"ARG A=1\nFROM ${A:-x} AS s\nFROM s\nFROM scratch\n",
		"# escape=`\nFROM `\n a\n",
		"FROM --platform=$BUILDPLATFORM a AS b\nRUN <<EOF\nFROM c\nEOF\n",
		"FROM \\\n# c\n img \\\n AS x\r\n",
	} {
		f.Add([]byte(s))
	}
	const d = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	f.Fuzz(func(t *testing.T, data []byte) {
		df, err := dockerfile.Parse("Dockerfile", data, dockerfile.Options{})
		if err != nil {
			return
		}
		pins := map[int]string{}
		for i, fr := range df.Froms {
			if fr.Kind == dockerfile.KindImage {
				pins[i] = d
			}
		}
		out, err := df.Pin(pins)
		if err != nil {
			t.Fatalf("Pin: %v", err)
		}
		if len(pins) == 0 && string(out) != string(data) {
			t.Fatal("Pin without pins changed the file")
		}
		if strings.ContainsAny(string(data), "$") {
			return // a pinned name may now form a new substitution
		}
		again, err := dockerfile.Parse("Dockerfile", out, dockerfile.Options{})
		if err != nil {
			return // a name the registry would refuse anyway may not reparse
		}
		if len(again.Froms) != len(df.Froms) {
			t.Fatalf("pinning changed the number of FROMs: %d → %d\n%q\n%q", len(df.Froms), len(again.Froms), data, out)
		}
	})
}

func TestIsDockerfile(t *testing.T) {
	for name, want := range map[string]bool{
		"Dockerfile": true, "sub/dir/Containerfile": true, "app.Dockerfile": true,
		"Dockerfile.prod": true, "dockerfile": true, "Dockerfiles/README": false,
		"src/main.go": false, "MyDockerfile": false, ".dockerignore": false,
	} {
		if got := dockerfile.IsDockerfile(name); got != want {
			t.Errorf("IsDockerfile(%q) = %v", name, got)
		}
	}
}

func TestParseRefusesHugeFiles(t *testing.T) {
	data := []byte("FROM a\n" + strings.Repeat("#", dockerfile.MaxSize))
	if _, err := dockerfile.Parse("Dockerfile", data, dockerfile.Options{}); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("parsed %d bytes: %v", len(data), err)
	}
}

// A few lines must not make Parse build gigabytes: ARG doubling and
// ${VAR/pattern/replacement} stay within MaxWord, and a long ARG is only an
// error when a FROM uses it.
func TestParseBoundsExpansion(t *testing.T) {
	doubling := "ARG A=xxxxxxxxxxxxxxxx\n" + strings.Repeat("ARG A=$A$A\n", 60) + "FROM img:$A\n"
	replace := "ARG A=" + strings.Repeat("y", 4000) + "\nFROM ${A//?/" + strings.Repeat("z", 3000) + "}\n"
	for name, src := range map[string]string{"doubling": doubling, "replacement": replace} {
		t.Run(name, func(t *testing.T) {
			_, err := dockerfile.Parse("Dockerfile", []byte(src), dockerfile.Options{})
			if err == nil || !strings.Contains(err.Error(), "longer than 4096 bytes") {
				t.Fatalf("err %v", err)
			}
		})
	}
	long := "ARG PACKAGES=\"" + strings.Repeat("pkg ", 3000) + "\"\nARG BASE=alpine:3\nFROM $BASE\nRUN apk add $PACKAGES\n"
	f, err := dockerfile.Parse("Dockerfile", []byte(long), dockerfile.Options{})
	if err != nil || f.Froms[0].Image != "alpine:3" {
		t.Fatalf("a long ARG no FROM uses: %v", err)
	}
	if _, err := dockerfile.Parse("Dockerfile", []byte(long+"FROM x${PACKAGES}\n"), dockerfile.Options{}); err == nil || !strings.Contains(err.Error(), "Dockerfile:5: FROM x${PACKAGES}: ARG PACKAGES is longer than") {
		t.Fatalf("a long ARG in FROM: %v", err)
	}
	if _, err := dockerfile.Parse("Dockerfile", []byte("ARG B\nFROM a$B\n"), dockerfile.Options{BuildArgs: map[string]string{"B": strings.Repeat("b", 5000)}}); err == nil {
		t.Fatal("a long build arg in FROM was used")
	}
}
