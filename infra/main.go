// Command infra is the CDK app (cdk.json runs it): one GatewayStack built
// from the functions `make build` wrote under build/.
//
// Context values (cdk deploy -c key=value) adjust a deployment:
//
//	stackName        the stack's name (default AiGateway)
//
// Front doors (README "Deploy": which to use when):
//
//	restApi          true (default) or false: the streaming REST API in front of
//	                 the Stream function (responseTransferMode STREAM)
//	restApiRateLimit, restApiBurstLimit
//	                 the REST API stage's throttle (default 100 requests/s, burst 200)
//	domainName, certificateArn
//	                 a custom domain for the REST API and its ACM certificate
//	                 (same region); both or neither
//	webAclArn        a regional WAFv2 web ACL for the REST API's stage
//	restApiCloudWatchRole
//	                 true (default) or false: set the account's API Gateway
//	                 CloudWatch role (false when the account already has one)
//	functionUrl      true (default) or false: the Stream function's Function URL;
//	                 turn it off with a web ACL, or the URL goes around it
//	functionUrlAuth  NONE (default: the gateway checks its own keys) or AWS_IAM
//	httpApi          false (default) or true: also the buffered HTTP API and its
//	                 Api function
//
// Functions, state and monitoring:
//
//	removalPolicy    RETAIN (default) or DESTROY, for the table, secret and logs;
//	                 DESTROY also turns the table's deletion protection off
//	config           a gateway TOML file shipped with the functions (make deploy
//	                 CONFIG=gateway.toml); checked here, before anything deploys
//	openAccess       false (default) or true: serve without keys (GATEWAY_AUTH=false);
//	                 without it a function with authentication off refuses to start
//	bedrock          false (default) or true: turn the Bedrock provider on and
//	                 let the functions call it (bedrock:InvokeModel*)
//	memoryMB         every function's memory in MB (default 256, see DefaultMemoryMB)
//	apiMemoryMB      the Api function's memory, over memoryMB
//	streamMemoryMB   the Stream function's memory, over memoryMB
//	apiReservedConcurrency, streamReservedConcurrency
//	                 reserved concurrent executions per function (default none)
//	metricsNamespace CloudWatch namespace of the gateway's metrics (default AIGateway)
//	alarmTopicArn    existing SNS topic the alarms notify (default: none)
//	alarmEmail       address subscribed to the alarm topic; without
//	                 alarmTopicArn the stack creates the topic (default: none)
//	durationTimeoutPercent
//	                 duration alarm threshold in percent of the timeout (default 90)
//	alarms           true (default) or false: the CloudWatch alarms
//	errorRatePercent 5xx-rate alarm threshold in percent (default 5)
//	latencyP99Ms     p99 latency alarm threshold in milliseconds (default 30000)
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	name, props := propsFromContext(app)
	fns := []string{"stream"}
	if props.HTTPAPI {
		fns = append(fns, "api")
	}
	for _, fn := range fns {
		if _, err := os.Stat(filepath.Join(props.AssetDir, fn, "bootstrap")); err != nil {
			fail("%s/%s/bootstrap is missing: run `make build` first", props.AssetDir, fn)
		}
	}
	NewGatewayStack(app, name, props)
	app.Synth(nil)
}

// propsFromContext reads the context values above into the stack's name and
// props; it exits on a value it cannot use.
func propsFromContext(app awscdk.App) (string, *GatewayStackProps) {
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
	props.REST = RESTAPIProps{
		Disable:          !contextBool(app, "restApi", true),
		RateLimit:        contextNumber(app, "restApiRateLimit"),
		BurstLimit:       contextNumber(app, "restApiBurstLimit"),
		DomainName:       contextString(app, "domainName", ""),
		CertificateARN:   contextString(app, "certificateArn", ""),
		WebACLARN:        contextString(app, "webAclArn", ""),
		NoCloudWatchRole: !contextBool(app, "restApiCloudWatchRole", true),
	}
	if !props.REST.Disable {
		if err := catch(func() { props.REST.resolve() }); err != nil {
			fail("context: %v", err)
		}
	}
	props.NoFunctionURL = !contextBool(app, "functionUrl", true)
	if props.NoFunctionURL && props.REST.Disable {
		fail("context functionUrl=false and restApi=false: the stream function would have no front door")
	}
	props.HTTPAPI = contextBool(app, "httpApi", false)
	props.Bedrock = contextBool(app, "bedrock", false)
	props.OpenAccess = contextBool(app, "openAccess", false)
	if props.ConfigFile = contextString(app, "config", ""); props.ConfigFile != "" {
		if _, err := CheckConfigFile(props.ConfigFile); err != nil {
			fail("context config: %v", err)
		}
	}
	memory := contextNumber(app, "memoryMB")
	props.API = FunctionProps{
		MemoryMB:            orDefault(contextNumber(app, "apiMemoryMB"), memory),
		ReservedConcurrency: contextNumber(app, "apiReservedConcurrency"),
	}
	props.Stream = FunctionProps{
		MemoryMB:            orDefault(contextNumber(app, "streamMemoryMB"), memory),
		ReservedConcurrency: contextNumber(app, "streamReservedConcurrency"),
	}
	props.Monitoring = MonitoringProps{
		Namespace:        contextString(app, "metricsNamespace", ""),
		AlarmTopicARN:    contextString(app, "alarmTopicArn", ""),
		AlarmEmail:       contextString(app, "alarmEmail", ""),
		ErrorRatePercent: contextNumber(app, "errorRatePercent"),
		LatencyP99Ms:     contextNumber(app, "latencyP99Ms"),

		DurationTimeoutPercent: contextNumber(app, "durationTimeoutPercent"),
	}
	props.Monitoring.DisableAlarms = !contextBool(app, "alarms", true)
	return name, props
}

func contextString(app awscdk.App, key, def string) string {
	if v, ok := app.Node().TryGetContext(jsii.String(key)).(string); ok && v != "" {
		return v
	}
	return def
}

// contextBool reads true or false given as -c key=V or in cdk.json.
func contextBool(app awscdk.App, key string, def bool) bool {
	switch v := app.Node().TryGetContext(jsii.String(key)).(type) {
	case nil:
		return def
	case bool:
		return v
	case string:
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
	}
	fail("context %s: %v is not true or false", key, app.Node().TryGetContext(jsii.String(key)))
	return def
}

// contextNumber reads a number given as -c key=N or in cdk.json (0 when unset).
func contextNumber(app awscdk.App, key string) float64 {
	switch v := app.Node().TryGetContext(jsii.String(key)).(type) {
	case nil:
		return 0
	case float64:
		return v
	case string:
		if n, err := strconv.ParseFloat(v, 64); err == nil && n > 0 {
			return n
		}
	}
	fail("context %s: %v is not a positive number", key, app.Node().TryGetContext(jsii.String(key)))
	return 0
}

// catch runs f and returns what it panicked with as an error.
func catch(f func()) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	f()
	return nil
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
