// Composes Apollo Federation 2 subgraphs with @theguild/federation-composition.
// stdin: [{"name": ..., "url": ..., "sdl": ...}, ...]; stdout: {"supergraphSdl": ...} or {"errors": [...]}.
import { readFileSync } from "node:fs";
import { parse } from "graphql";
import { composeServices, compositionHasErrors } from "@theguild/federation-composition";

const subgraphs = JSON.parse(readFileSync(0, "utf8"));
const result = composeServices(
  subgraphs.map(({ name, url, sdl }) => ({ name, url, typeDefs: parse(sdl) })),
);
if (compositionHasErrors(result)) {
  console.log(JSON.stringify({ errors: result.errors.map((e) => e.message) }));
} else {
  console.log(JSON.stringify({ supergraphSdl: result.supergraphSdl }));
}
