// A module of its own: Go's ./... patterns in the gateway's module stop here,
// so they never walk into node_modules (the npm clients the Node end-to-end
// tests run). Nothing in this folder is Go.
module ignored/e2enode
