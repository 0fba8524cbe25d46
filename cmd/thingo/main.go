// Command thingo is the Thingo IoT platform: `thingo serve` runs it; the other
// subcommands sign device credentials and administer a running platform.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `thingo — self-hosted IoT device platform compatible with Tencent Cloud IoT Explorer

Usage:
  thingo serve [flags]                 run the platform (thingo serve --help lists the flags)
  thingo sign --product P --device D --secret S [--method hmacsha256|hmacsha1] [--expiry SECONDS]
                                       print MQTT client id, username and password of a key device
  thingo admin credentials --data DIR  print the admin API credential
  thingo admin ca --data DIR           print the CA certificate devices must trust
  thingo admin create-project|create-product|create-device|list-devices|describe-device [flags]
                                       call the management API of a running platform
  thingo codegen -model M.json -package P [-o F.go]
                                       generate typed Go code for a thing model
  thingo sim -model M.json [--devices N --rate R --duration D ...]
                                       simulate a fleet of devices (thingo sim -h lists the flags)
  thingo version                       print the version
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		reexecTuned()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run executes one subcommand and returns the process exit status: 0 on
// success, 1 on a runtime failure, 2 on a usage or configuration error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr, getenv)
	case "sign":
		return sign(args[1:], stdout, stderr)
	case "admin":
		return admin(ctx, args[1:], stdout, stderr, getenv)
	case "codegen":
		return codegenCmd(ctx, args[1:], stdout, stderr)
	case "sim":
		return simCmd(ctx, args[1:], stdout, stderr, getenv)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "thingo", version)
		return 0
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "thingo: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}
