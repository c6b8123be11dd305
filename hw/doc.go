// Package hw will hold the hardware integration: the /dev/watchdog driver
// petted from the event loop, systemd WATCHDOG=1 notification, and status
// LEDs (sysfs LED class and GPIO). Nothing here yet.
package hw
