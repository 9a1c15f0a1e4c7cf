package main

import "syscall"

// ioctlGetTermios is the request that reads a terminal's attributes; it fails
// on anything that is not a terminal (a file, a pipe, /dev/null).
const ioctlGetTermios = syscall.TCGETS
