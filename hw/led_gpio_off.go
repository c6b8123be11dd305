//go:build nogpio

package hw

import "errors"

// GPIOCompiled reports whether GPIO LEDs (periph.io's gpio registry) are
// compiled in.
const GPIOCompiled = false

func openGPIOLED(string) (LED, error) {
	return nil, errors.New("GPIO LEDs are not compiled into this build (nogpio); use a sysfs LED")
}
