package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Environment variables read besides the THINGO_<FLAG> ones.
const (
	EnvConfig         = "THINGO_CONFIG"
	EnvAdminSecretID  = "THINGO_ADMIN_SECRET_ID"
	EnvAdminSecretKey = "THINGO_ADMIN_SECRET_KEY"
	EnvS3AccessKey    = "THINGO_S3_ACCESS_KEY"
	EnvS3SecretKey    = "THINGO_S3_SECRET_KEY"
)

// value is a raw setting and where it came from.
type value struct {
	raw   string
	where string
}

// Load builds the configuration of `thingo serve` from its arguments (without
// the program and command names), the environment (getenv, usually
// os.Getenv; an empty variable counts as unset) and the config file named by
// --config or THINGO_CONFIG.
//
// Every error is a *Error and matches ErrUsage. For --help or -h the error
// also matches flag.ErrHelp; print Usage() and exit with status 0.
func Load(args []string, getenv func(string) string) (Config, error) {
	flagVals, configFlag, err := parseFlags(args)
	if err != nil {
		return Config{}, err
	}

	var c Config
	c.ConfigFile = configFlag
	if c.ConfigFile == "" {
		c.ConfigFile = getenv(EnvConfig)
	}
	var fileVals map[string]value
	if c.ConfigFile != "" {
		if fileVals, err = readFile(c.ConfigFile); err != nil {
			return Config{}, err
		}
	}

	chosen := make(map[string]value, len(settings))
	for _, s := range settings {
		v := value{raw: s.def, where: "default"}
		if fv, ok := fileVals[s.name]; ok {
			v = fv
		}
		if e := getenv(envName(s.name)); e != "" {
			v = value{raw: e, where: "env " + envName(s.name)}
		}
		if fv, ok := flagVals[s.name]; ok {
			v = value{raw: fv, where: "flag --" + s.name}
		}
		if err := s.set(&c, v.raw); err != nil {
			return Config{}, &Error{Where: v.where, Err: err}
		}
		chosen[s.name] = v
	}

	for _, p := range pairs {
		a, b := chosen[p[0]], chosen[p[1]]
		if (a.raw == "") != (b.raw == "") {
			set, unset := p[0], p[1]
			where := a.where
			if a.raw == "" {
				set, unset, where = p[1], p[0], b.where
			}
			return Config{}, &Error{Where: where, Err: fmt.Errorf("--%s is set but --%s is not: give both or neither", set, unset)}
		}
	}

	if c.NATSURL == "" && c.NATSReplicas != 1 {
		v := chosen["nats-replicas"]
		return Config{}, &Error{Where: v.where, Err: fmt.Errorf("%d replicas need a NATS cluster (--nats-url); the embedded server takes 1", c.NATSReplicas)}
	}

	c.AdminSecretID = getenv(EnvAdminSecretID)
	c.AdminSecretKey = getenv(EnvAdminSecretKey)
	if (c.AdminSecretID == "") != (c.AdminSecretKey == "") {
		return Config{}, &Error{
			Where: "env " + EnvAdminSecretID + "/" + EnvAdminSecretKey,
			Err:   errors.New("give both or neither"),
		}
	}

	c.S3AccessKey = getenv(EnvS3AccessKey)
	c.S3SecretKey = getenv(EnvS3SecretKey)

	if c.PublicURL == "" {
		c.PublicURL = derivePublicURL(c.HTTPAddr)
	}
	if c.SecretKeyFile == "" {
		c.SecretKeyFile = joinData(c.DataDir, "secret.key")
	}
	return c, nil
}

// parseFlags parses args and returns the values of the flags given, by name,
// and the --config value.
func parseFlags(args []string) (map[string]string, string, error) {
	fs := flag.NewFlagSet("thingo serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	vals := make(map[string]string)
	for _, s := range settings {
		fs.Func(s.name, s.usage, func(v string) error {
			vals[s.name] = v
			return nil
		})
	}
	var configFile string
	fs.StringVar(&configFile, "config", "", "TOML configuration file")
	if err := fs.Parse(args); err != nil {
		return nil, "", &Error{Where: "flags", Err: err}
	}
	if fs.NArg() > 0 {
		return nil, "", &Error{Where: "flags", Err: fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return vals, configFile, nil
}

// readFile reads a TOML config file into raw values by flag name.
func readFile(path string) (map[string]value, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{Where: path, Err: fmt.Errorf("read config file: %w", err)}
	}
	return parseFile(path, data)
}

// parseFile parses the TOML text of the config file named path.
func parseFile(path string, data []byte) (map[string]value, error) {
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		return nil, &Error{Where: path, Err: fmt.Errorf("parse config file: %w", err)}
	}
	byKey := make(map[string]setting, len(settings))
	for _, s := range settings {
		byKey[fileKey(s.name)] = s
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	vals := make(map[string]value, len(raw))
	for _, k := range keys {
		where := path + ":" + k
		s, ok := byKey[k]
		if !ok {
			msg := fmt.Sprintf("unknown key %q", k)
			if k == "admin_secret_id" || k == "admin_secret_key" || k == "config" {
				msg += " (this setting is read from the environment only)"
			}
			return nil, &Error{Where: where, Err: errors.New(msg)}
		}
		str, err := fileString(raw[k], s.kind)
		if err != nil {
			return nil, &Error{Where: where, Err: err}
		}
		vals[s.name] = value{raw: str, where: where}
	}
	return vals, nil
}

// fileString turns a decoded TOML value into the text form the setters parse.
func fileString(v any, k kind) (string, error) {
	switch x := v.(type) {
	case string:
		if k == kindString {
			return x, nil
		}
	case int64:
		if k == kindInt || k == kindFloat {
			return strconv.FormatInt(x, 10), nil
		}
	case float64:
		if k == kindFloat {
			return strconv.FormatFloat(x, 'g', -1, 64), nil
		}
	}
	want := map[kind]string{kindString: "a string", kindInt: "an integer", kindFloat: "a number"}[k]
	return "", fmt.Errorf("must be %s, not %s", want, tomlType(v))
}

func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case map[string]any:
		return "a table"
	case []any, []map[string]any:
		return "an array"
	default:
		return "a date or time"
	}
}

// Usage is the help text for the flags of `thingo serve`.
func Usage() string {
	var b strings.Builder
	b.WriteString("Usage: thingo serve [flags]\n\nFlags (--foo-bar can also be set as env THINGO_FOO_BAR or as key foo_bar in the --config file):\n")
	fmt.Fprintf(&b, "  --%s FILE\n\tTOML configuration file (env %s)\n", "config", EnvConfig)
	for _, s := range settings {
		fmt.Fprintf(&b, "  --%s value\n\t%s", s.name, s.usage)
		if s.def != "" {
			fmt.Fprintf(&b, " (default %s)", s.def)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\nAdmin API credential (environment only, both or neither): %s, %s\n", EnvAdminSecretID, EnvAdminSecretKey)
	fmt.Fprintf(&b, "S3 credential for --blob-url (environment only): %s, %s\n", EnvS3AccessKey, EnvS3SecretKey)
	return b.String()
}
