//go:build !race

package certrotate

// raceEnabled is set when the tests run under the race detector.
const raceEnabled = false
