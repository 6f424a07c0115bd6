// temporal-server-authz: the stock Temporal server (go.temporal.io/server/cmd/server, start only) with
// a namespace authorizer that tells workers from other clients by their mTLS client certificate's
// subject CN (authorizer.go). Built by cluster/build-temporal.sh; cluster/index.ts runs it when a
// cluster is started with `authorizer: true`.
//
//	temporal-server-authz --config-file <file> --service <name> [--service <name> …]
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	_ "go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql" // the cluster's persistence
	"go.temporal.io/server/temporal"
)

type services []string

func (s *services) String() string     { return strings.Join(*s, ",") }
func (s *services) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	configFile := flag.String("config-file", "", "the server configuration (YAML)")
	var names services
	flag.Var(&names, "service", "a service to run (repeatable; default all)")
	flag.Parse()
	if *configFile == "" {
		fail("--config-file is required")
	}
	if len(names) == 0 {
		names = temporal.DefaultServices
	}
	cfg, err := config.Load(config.WithConfigFile(*configFile))
	if err != nil {
		fail(fmt.Sprintf("unable to load the configuration: %v", err))
	}
	server, err := temporal.NewServer(
		temporal.ForServices(names),
		temporal.WithConfig(cfg),
		temporal.WithLogger(log.NewZapLogger(log.BuildZapLogger(cfg.Log))),
		temporal.InterruptOn(temporal.InterruptCh()),
		temporal.WithAuthorizer(authorizer{}),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper{} }),
	)
	if err != nil {
		fail(fmt.Sprintf("unable to create the server: %v", err))
	}
	if err := server.Start(); err != nil {
		fail(fmt.Sprintf("unable to start the server: %v", err))
	}
}

func fail(sentence string) {
	fmt.Fprintln(os.Stderr, "temporal-server-authz: "+sentence)
	os.Exit(1)
}
