package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/thingo-iot/thingo/internal/codegen"
	"github.com/thingo-iot/thingo/internal/thingmodel"
)

// codegenCmd runs `thingo codegen`: typed Go code from a thing model.
func codegenCmd(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("thingo codegen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", "", "thing model JSON file (required)")
	pkg := fs.String("package", "", "Go package name of the generated file (required)")
	out := fs.String("o", "", "output file (default: standard output)")
	if fs.Parse(args) != nil {
		return 2
	}
	if *model == "" || *pkg == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: thingo codegen -model model.json -package NAME [-o file.go]")
		return 2
	}
	data, err := os.ReadFile(*model)
	if err != nil {
		fmt.Fprintf(stderr, "thingo codegen: %v\n", err)
		return 1
	}
	m, err := thingmodel.Parse(data)
	if err != nil {
		fmt.Fprintf(stderr, "thingo codegen: %s: %v\n", *model, err)
		return 1
	}
	src, err := codegen.Generate(m, codegen.Options{Package: *pkg, Source: filepath.Base(*model)})
	if err != nil {
		fmt.Fprintf(stderr, "thingo codegen: %v\n", err)
		return 2
	}
	if *out == "" {
		_, err = stdout.Write(src)
	} else {
		err = os.WriteFile(*out, src, 0o644)
	}
	if err != nil {
		fmt.Fprintf(stderr, "thingo codegen: %v\n", err)
		return 1
	}
	return 0
}
