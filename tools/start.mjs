#!/usr/bin/env node
// `npm start`. Until the server and CLI exist, this is an honest placeholder that says so.
console.log(
  [
    "raftstore: no runnable node exists yet in this checkout.",
    "The storage contract and its conformance suite are in place; run `npm test` to see them pass.",
  ].join("\n"),
);
