#!/usr/bin/env node
// Installed entry point: runs the built CLI from dist/.
import "../dist/cli/main.js";
