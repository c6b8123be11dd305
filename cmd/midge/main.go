// Command midge is the midge MQTT broker and its tools, in one multi-call
// binary: `midge` runs the broker; `midge pub`, `midge sub`, `midge convert`
// and `midge version` are the tools. Invoked through a link named
// midge-pub or midge-sub it runs that tool.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

type command struct {
	run  func(args []string) int
	help string
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"broker":   {runBroker, "run the broker (the default)"},
		"pub":      {runPub, "publish messages (mosquitto_pub flags)"},
		"sub":      {runSub, "subscribe and print messages (mosquitto_sub flags)"},
		"convert":  {runConvert, "print a mosquitto.conf as midge TOML"},
		"bench":    {runBench, "load generator: fanin, fanout, latency, idle, check"},
		"logcheck": {runLogcheck, "verify a persistence directory (exit 1 on damage)"},
		"logdump":  {runLogdump, "print a persistence directory's records (--json)"},
		"version":  {runVersion, "print the version and compiled-in features"},
		"help":     {runHelp, "list the commands"},
	}
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
	for _, n := range []string{"broker", "pub", "sub", "bench", "convert", "logcheck", "logdump", "version", "help"} {
		fmt.Printf("  %-8s %s\n", n, commands[n].help)
	}
	return 0
}
