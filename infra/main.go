// Command infra is the CDK app (cdk.json runs it): one GatewayStack built
// from the functions `make build` wrote under build/.
//
// Context values (cdk deploy -c key=value) adjust a deployment:
//
//	stackName        the stack's name (default AiGateway)
//	functionUrlAuth  NONE (default: the gateway checks its own keys) or AWS_IAM
//	removalPolicy    RETAIN (default) or DESTROY, for the table, secret and logs
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	props := &GatewayStackProps{
		StackProps: awscdk.StackProps{
			Description: jsii.String("AI gateway: OpenAI-compatible endpoint on Lambda and DynamoDB"),
			// The account and region the CLI resolved (profile, environment).
			Env: &awscdk.Environment{
				Account: envOrNil("CDK_DEFAULT_ACCOUNT"),
				Region:  envOrNil("CDK_DEFAULT_REGION"),
			},
		},
		AssetDir: "build",
	}
	name := contextString(app, "stackName", "AiGateway")
	switch auth := strings.ToUpper(contextString(app, "functionUrlAuth", "NONE")); auth {
	case "NONE":
		props.FunctionURLAuth = awslambda.FunctionUrlAuthType_NONE
	case "AWS_IAM":
		props.FunctionURLAuth = awslambda.FunctionUrlAuthType_AWS_IAM
	default:
		fail("context functionUrlAuth: %q is not NONE or AWS_IAM", auth)
	}
	switch rp := strings.ToUpper(contextString(app, "removalPolicy", "RETAIN")); rp {
	case "RETAIN":
		props.RemovalPolicy = awscdk.RemovalPolicy_RETAIN
	case "DESTROY":
		props.RemovalPolicy = awscdk.RemovalPolicy_DESTROY
	default:
		fail("context removalPolicy: %q is not RETAIN or DESTROY", rp)
	}
	for _, fn := range []string{"api", "stream"} {
		if _, err := os.Stat(filepath.Join(props.AssetDir, fn, "bootstrap")); err != nil {
			fail("%s/%s/bootstrap is missing: run `make build` first", props.AssetDir, fn)
		}
	}
	NewGatewayStack(app, name, props)
	app.Synth(nil)
}

func contextString(app awscdk.App, key, def string) string {
	if v, ok := app.Node().TryGetContext(jsii.String(key)).(string); ok && v != "" {
		return v
	}
	return def
}

func envOrNil(name string) *string {
	if v := os.Getenv(name); v != "" {
		return &v
	}
	return nil
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "infra: "+format+"\n", args...)
	os.Exit(1)
}
