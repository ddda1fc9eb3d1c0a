# Two entry points that work on a fresh Debian/Ubuntu machine with Swift 6:
#   make run   - build and run the quickstart
#   make test  - build and run every test
# Both install the system packages they need (and kubernetes-validate from PyPI), only when missing.

SWIFT ?= swift
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := libuv1-dev libmbedtls-dev libcoap3-bin pkg-config zlib1g-dev chromium

.PHONY: run test build deps bench clean

deps:
	@missing=""; \
	command -v pkg-config >/dev/null 2>&1 || missing="$$missing pkg-config"; \
	pkg-config --exists libuv 2>/dev/null || missing="$$missing libuv1-dev"; \
	[ -f /usr/include/mbedtls/ssl.h ] || missing="$$missing libmbedtls-dev"; \
	command -v coap-server-notls >/dev/null 2>&1 || command -v coap-server >/dev/null 2>&1 || missing="$$missing libcoap3-bin"; \
	[ -f /usr/include/zlib.h ] || missing="$$missing zlib1g-dev"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	fi
	@# The Kubernetes manifests' offline schema check (KubernetesManifestTests), from PyPI; without
	@# it that test skips, saying so.
	@python3 -c 'import kubernetes_validate' 2>/dev/null || { \
		echo "installing: kubernetes-validate (PyPI)"; \
		python3 -m pip install --quiet kubernetes-validate \
			|| echo "could not install kubernetes-validate: KubernetesManifestTests will skip the schema check"; \
	}

build: deps
	$(SWIFT) build

run: deps
	$(SWIFT) build -c release --product lwm2m-fleet
	.build/release/lwm2m-fleet run fleets/quickstart.yaml --out quickstart-result.json

test: deps
	$(SWIFT) test

bench: deps
	cd benchmarks && ./run.sh

clean:
	rm -rf .build benchmarks/.build
