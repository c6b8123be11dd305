module midge

go 1.26.0

require (
	github.com/eclipse/paho.golang v0.23.0
	github.com/pelletier/go-toml/v2 v2.4.3
	golang.org/x/sys v0.50.0
)
