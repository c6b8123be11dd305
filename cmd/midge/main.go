// Command midge is the midge MQTT broker and its tools, in one multi-call
// binary: `midge` runs the broker; `midge pub`, `midge sub`, `midge rr`, `midge convert`
// and `midge version` are the tools. Invoked through a link named
// midge-pub, midge-sub or midge-rr it runs that tool.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

type command struct {
	run  func(args []string) int
	help string
}

// commands are the multi-call entry points; optional tools register
// themselves from files behind build tags (nocli leaves them all out).
var commands = map[string]command{}

func register(name string, run func([]string) int, help string) {
	commands[name] = command{run, help}
}

func init() {
	register("broker", runBroker, "run the broker (the default)")
	register("version", runVersion, "print the version and compiled-in features")
	register("help", runHelp, "list the commands")
}

func main() {
	os.Exit(dispatch(os.Args))
}

func dispatch(argv []string) int {
	name := filepath.Base(argv[0])
	for _, prefix := range []string{"midge-", "midge_"} {
		if strings.HasPrefix(name, prefix) {
			if c, ok := commands[strings.TrimPrefix(name, prefix)]; ok {
				return c.run(argv[1:])
			}
		}
	}
	if len(argv) > 1 {
		if c, ok := commands[argv[1]]; ok {
			return c.run(argv[2:])
		}
	}
	return runBroker(argv[1:])
}

func runHelp(args []string) int {
	fmt.Println("usage: midge [command] [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Printf("  %-9s %s\n", n, commands[n].help)
	}
	return 0
}
