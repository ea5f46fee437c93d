package runner

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/toto-dev/toto/link"
)

func TestRunRecordsBeforeAndAfter(t *testing.T) {
	root := tree(t, map[string]string{"src/main.c": "int main;"})
	argv, env := self(t, "write", "RUNNER_FILE="+filepath.Join(root, "app"), "RUNNER_CODE=0")
	t.Setenv("TOTO_TEST_VAR", "v1")
	res, err := Run(context.Background(), Options{
		Name:        "build",
		Materials:   []string{"."},
		Products:    []string{"."},
		Command:     argv,
		Hash:        HashOptions{BasePath: root},
		Exec:        ExecOptions{Env: env},
		Environment: EnvironmentOptions{Workdir: true, Variables: []string{"TOTO_TEST_VAR", "TOTO_UNSET_VAR"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	l := res.Link
	if !reflect.DeepEqual(l.Materials, want(map[string]string{"src/main.c": "int main;"})) {
		t.Errorf("materials %v: must be recorded before the command ran", l.Materials)
	}
	if !reflect.DeepEqual(l.Products, want(map[string]string{"src/main.c": "int main;", "app": "built"})) {
		t.Errorf("products %v", l.Products)
	}
	if l.Name != "build" || !reflect.DeepEqual(l.Command, argv) {
		t.Errorf("name %q command %q", l.Name, l.Command)
	}
	wantBy := map[string]any{"stdout": "building\n", "stderr": "warning: none\n", "return-value": 0}
	if !reflect.DeepEqual(l.ByProducts, wantBy) {
		t.Errorf("byproducts %v, want %v", l.ByProducts, wantBy)
	}
	wd, _ := os.Getwd()
	if l.Environment["workdir"] != filepath.ToSlash(wd) {
		t.Errorf("workdir %v", l.Environment["workdir"])
	}
	if vars := l.Environment["variables"]; !reflect.DeepEqual(vars, map[string]any{"TOTO_TEST_VAR": "v1"}) {
		t.Errorf("variables %v", vars)
	}
	if res.Materials.Files != 1 || res.Products.Files != 2 || res.ExitCode() != 0 {
		t.Errorf("stats %+v %+v", res.Materials, res.Products)
	}
}

func TestRunFailingCommandStillRecords(t *testing.T) {
	root := tree(t, nil)
	argv, env := self(t, "write", "RUNNER_FILE="+filepath.Join(root, "partial"), "RUNNER_CODE=3")
	res, err := Run(context.Background(), Options{Name: "s", Products: []string{"."}, Command: argv,
		Hash: HashOptions{BasePath: root}, Exec: ExecOptions{Env: env}})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode() != 3 || res.Link.ByProducts["return-value"] != 3 {
		t.Errorf("exit code %d, byproduct %v", res.ExitCode(), res.Link.ByProducts["return-value"])
	}
	if _, ok := res.Link.Products["partial"]; !ok {
		t.Error("products of a failed command must still be recorded")
	}
}

func TestRunWithoutCommand(t *testing.T) {
	root := tree(t, map[string]string{"f": "f"})
	res, err := Run(context.Background(), Options{Name: "review", Materials: []string{"f"}, Hash: HashOptions{BasePath: root}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Link.Command) != 0 || len(res.Link.ByProducts) != 0 || res.Exec != nil {
		t.Errorf("sign-off link has command %v byproducts %v", res.Link.Command, res.Link.ByProducts)
	}
}

func TestRunErrorsLeaveNoLinkAndRunNothing(t *testing.T) {
	root := tree(t, map[string]string{"f": "f"})
	marker := filepath.Join(root, "ran")
	argv, env := self(t, "write", "RUNNER_FILE="+marker)
	tests := []struct {
		name string
		opts Options
		is   error
		ran  bool
	}{
		{"bad exclude pattern", Options{Name: "s", Hash: HashOptions{Exclude: []string{"[x"}}}, nil, false},
		{"unknown algorithm", Options{Name: "s", Hash: HashOptions{Algorithms: []string{"md4"}}}, ErrUnsupportedAlgorithm, false},
		{"missing material", Options{Name: "s", Materials: []string{"nope"}}, os.ErrNotExist, false},
		{"no name", Options{}, nil, false},
		{"missing product", Options{Name: "s", Products: []string{"nope"}}, os.ErrNotExist, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.Remove(marker)
			tt.opts.Command = argv
			tt.opts.Exec.Env = env
			tt.opts.Hash.BasePath = root
			res, err := Run(context.Background(), tt.opts)
			if err == nil || res != nil {
				t.Fatalf("err = %v, res = %v", err, res)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want %v", err, tt.is)
			}
			if _, statErr := os.Stat(marker); (statErr == nil) != tt.ran {
				t.Errorf("command ran = %v, want %v", statErr == nil, tt.ran)
			}
		})
	}
}

func TestRunTimeout(t *testing.T) {
	argv, env := self(t, "sleep")
	res, err := Run(context.Background(), Options{Name: "s", Command: argv, Exec: ExecOptions{Env: env, Timeout: 100 * time.Millisecond}})
	if !errors.Is(err, ErrTimeout) || res != nil {
		t.Errorf("err = %v, res = %v; want ErrTimeout and no link", err, res)
	}
}

func TestFileNames(t *testing.T) {
	id := "776a00e29f3559e0141b3b096f696abc6cfb0c657ab40f441132b345b08453f5"
	if got := link.FileName("write-code", id); got != "write-code.776a00e2.link" {
		t.Errorf("LinkFileName = %s", got)
	}
	if got := UnfinishedFileName("write-code", id); got != ".write-code.776a00e2.link-unfinished" {
		t.Errorf("UnfinishedFileName = %s", got)
	}
}

// BeforeCommand sees the materials before the command runs, can add some,
// and stops the step (no command, no link) by failing.
func TestRunBeforeCommand(t *testing.T) {
	root := tree(t, map[string]string{"Dockerfile": "FROM x"})
	marker := filepath.Join(root, "ran")
	argv, env := self(t, "write", "RUNNER_FILE="+marker, "RUNNER_CODE=0")
	stop := errors.New("base image denied")
	var seen link.Artifacts
	opts := Options{
		Name: "build", Materials: []string{"."}, Command: argv,
		Hash: HashOptions{BasePath: root}, Exec: ExecOptions{Env: env},
		BeforeCommand: func(_ context.Context, m link.Artifacts) error {
			seen = maps.Clone(m)
			if _, err := os.Stat(marker); err == nil {
				t.Error("BeforeCommand called after the command ran")
			}
			return stop
		},
	}
	if res, err := Run(context.Background(), opts); !errors.Is(err, stop) || res != nil {
		t.Fatalf("Run = %v, %v; want the hook's error and no result", res, err)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatalf("the command ran after BeforeCommand failed: %v", err)
	}
	if !reflect.DeepEqual(seen, want(map[string]string{"Dockerfile": "FROM x"})) {
		t.Errorf("hook saw %v", seen)
	}
	opts.BeforeCommand = func(_ context.Context, m link.Artifacts) error {
		m["oci://registry.example/base"] = link.DigestSet{"sha256": "00"}
		return nil
	}
	res, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Link.Materials["oci://registry.example/base"]; got["sha256"] != "00" {
		t.Errorf("added material: %v", res.Link.Materials)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the command did not run: %v", err)
	}
}
