#!/usr/bin/env node
// Launcher of the cdk8s app (cdk8s.yaml): runs bin/compiled/k8s.js, built from bin/k8s.ts, like
// bin/sigstore-cdk.js.
'use strict';
require('./launch').launch('k8s');
