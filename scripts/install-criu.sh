#!/bin/sh
# Installs CRIU 4.2.1 from Debian's upstream tarball when `criu` is missing or older than 4.2:
# the criu step of remote-helper/setup-host.sh (what `procmig setup HOST` runs on a host).
# Why build: Debian 12's criu 3.17 fails on kernels with a [vvar_vclock] mapping and 4.1.1 cannot
# dump TCP sockets on 6.x kernels; 4.2.1 is the first that works (see README, "Requirements").
# CRIU_PREFIX: install there instead of /usr/local (and check that prefix's criu).
set -eu
exec sh "$(dirname "$0")/../remote-helper/setup-host.sh" criu
