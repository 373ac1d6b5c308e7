package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain builds the real binary once and puts it on PATH for the scripts in
// testdata/script: the end-to-end tests run exactly what users run.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vaultsentry-e2e")
	if err != nil {
		panic(err)
	}
	name := "vaultsentry"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	build := exec.Command("go", "build", "-o", filepath.Join(dir, name), ".")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		panic("build vaultsentry: " + err.Error())
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestScripts(t *testing.T) {
	wd, _ := os.Getwd()
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("PATH", binDir+string(os.PathListSeparator)+env.Getenv("PATH"))
			env.Setenv("NO_COLOR", "1")
			env.Setenv("TESTDATA", filepath.Join(wd, "testdata"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){"samefindings": sameFindings},
	})
}

// sameFindings (a script command: samefindings A.json B.json) compares the findings of two JSON
// reports field for field and prints "same N findings"; a difference fails the script.
func sameFindings(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: samefindings A.json B.json")
	}
	var reps [2]struct {
		Findings []json.RawMessage `json:"findings"`
	}
	for i, a := range args {
		if err := json.Unmarshal([]byte(ts.ReadFile(a)), &reps[i]); err != nil {
			ts.Fatalf("%s: %v", a, err)
		}
	}
	same := len(reps[0].Findings) == len(reps[1].Findings)
	for i := 0; same && i < len(reps[0].Findings); i++ {
		same = bytes.Equal(reps[0].Findings[i], reps[1].Findings[i])
	}
	if same == neg {
		ts.Fatalf("findings of %s and %s: same=%v", args[0], args[1], same)
	}
	if same {
		fmt.Fprintf(ts.Stdout(), "same %d findings\n", len(reps[0].Findings))
	}
}
