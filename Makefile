# Thingo — the two commands that matter: `make run` and `make test`.
GO ?= go
SDK_MODULES := test/sdk/gotyped test/sdk/gocommon

.PHONY: run build test test-short test-sdk vet fmt bench

run: ## run the platform on the embedded default (SQLite, embedded NATS, ./thingo-data)
	$(GO) run ./cmd/thingo serve

build:
	$(GO) build -o bin/thingo ./cmd/thingo

test: vet ## every test, with the race detector (PostgreSQL/Node runs skip unless configured, see README)
	$(GO) test -race -count=1 ./...
	@for m in $(SDK_MODULES); do \
		if [ -f $$m/go.mod ]; then (cd $$m && $(GO) test -race -count=1 ./...) || exit 1; fi; \
	done

test-short:
	$(GO) test -short -count=1 ./...

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

bench: ## compare Thingo with mosquitto on loopback (a few minutes); updates docs/benchmarks.md
	@command -v mosquitto >/dev/null || test -x /usr/sbin/mosquitto || apt-get install -y mosquitto || sudo apt-get install -y mosquitto
	$(GO) run ./bench --out docs/benchmarks.md
