// Validates the custom resources of the k8s manifests (JSON on stdin: a list of objects)
// against the schemas of their CRDs, as generated into the @kubernetes-models packages.
// Prints one line per object and exits 1 when any is invalid or of an unknown kind.
import { Gateway, HTTPRoute } from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1";
import { ScaledObject, TriggerAuthentication } from "@kubernetes-models/keda/keda.sh/v1alpha1";

const MODELS = {
  "gateway.networking.k8s.io/v1 Gateway": Gateway,
  "gateway.networking.k8s.io/v1 HTTPRoute": HTTPRoute,
  "keda.sh/v1alpha1 ScaledObject": ScaledObject,
  "keda.sh/v1alpha1 TriggerAuthentication": TriggerAuthentication,
};

let input = "";
for await (const chunk of process.stdin) input += chunk;
let failed = false;
for (const object of JSON.parse(input)) {
  const key = `${object.apiVersion} ${object.kind}`;
  const Model = MODELS[key];
  const name = `${key} ${object.metadata?.name}`;
  if (!Model) {
    console.log(`unknown: ${name}`);
    failed = true;
    continue;
  }
  try {
    new Model(object).validate();
    console.log(`valid: ${name}`);
  } catch (error) {
    console.log(`invalid: ${name}: ${error.message}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
