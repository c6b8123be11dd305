//go:build !nocli

package main

import (
	"fmt"
	"os"

	"midge/broker"
	"midge/broker/config"
)

func init() {
	register("convert", runConvert, "print a mosquitto.conf as midge TOML")
}

func runConvert(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: midge convert mosquitto.conf")
		return 2
	}
	data, err := os.ReadFile(args[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "midge convert: %v\n", err)
		return 1
	}
	cfg, err := config.ImportMosquitto(args[0], data)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "midge convert: %v\n", err)
		return 1
	}
	out, err := cfg.TOML()
	if err != nil {
		fmt.Fprintf(os.Stderr, "midge convert: %v\n", err)
		return 1
	}
	fmt.Printf("# converted from %s by midge %s\n", args[0], broker.Version)
	for _, n := range cfg.Notes {
		fmt.Printf("# note: %s\n", n)
	}
	os.Stdout.Write(out)
	return 0
}
