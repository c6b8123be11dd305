//go:build !nogpio

package hw

import (
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
)

// GPIOCompiled reports whether GPIO LEDs (periph.io's gpio registry) are
// compiled in.
const GPIOCompiled = true

func openGPIOLED(name string) (LED, error) {
	p := gpioreg.ByName(name)
	if p == nil {
		return nil, ErrNotPresent
	}
	return &gpioLED{p: p}, nil
}

type gpioLED struct{ p gpio.PinIO }

func (g *gpioLED) Name() string { return "gpio:" + g.p.Name() }

func (g *gpioLED) Set(on bool) error {
	lvl := gpio.Low
	if on {
		lvl = gpio.High
	}
	return g.p.Out(lvl)
}

func (g *gpioLED) Halt() error { return g.p.Out(gpio.Low) }
