package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/aigateway/gateway/internal/config"
)

// FunctionProps size one Lambda function. Zero values take the defaults.
type FunctionProps struct {
	// MemoryMB is the memory size, a whole number from 128 to 10240
	// (default DefaultMemoryMB; Lambda's CPU share scales with it).
	MemoryMB float64
	// Timeout in seconds (api default 30, the HTTP API's own limit; stream
	// default 300, long completions).
	TimeoutSeconds float64
	// ReservedConcurrency caps concurrent executions; 0 leaves the function
	// on the account's unreserved pool (new accounts cannot reserve any).
	ReservedConcurrency float64
}

// GatewayStackProps configure NewGatewayStack.
type GatewayStackProps struct {
	awscdk.StackProps
	// AssetDir holds stream/bootstrap, and api/bootstrap with HTTPAPI
	// (`make build` writes them under build/). Default "build".
	AssetDir string
	// API and Stream size the two functions (API only with HTTPAPI).
	API, Stream FunctionProps
	// REST configures the streaming REST API in front of the Stream
	// function (restapi.go); on unless REST.Disable.
	REST RESTAPIProps
	// NoFunctionURL leaves the Stream function without its Function URL, so
	// the REST API (its throttling, access logs, WAF) is the only way in.
	NoFunctionURL bool
	// HTTPAPI adds the buffered front door: the Api function behind an API
	// Gateway HTTP API (payload 2.0). Off by default: the REST API serves the
	// same clients, streams, runs past the HTTP API's 30 s and takes a WAF;
	// the HTTP API only costs less per request ($1.00 against $3.50 per
	// million), and the Function URL nothing.
	HTTPAPI bool
	// RemovalPolicy applies to the table, the secret and the log groups;
	// default RETAIN, so `cdk destroy` keeps state, keys and logs. The table
	// also has deletion protection on, except with DESTROY.
	RemovalPolicy awscdk.RemovalPolicy
	// FunctionURLAuth is the Function URL's auth type: NONE by default (the
	// gateway checks its own virtual keys), AWS_IAM for SigV4-signed callers.
	FunctionURLAuth awslambda.FunctionUrlAuthType
	// OpenAccess turns the gateway's own key check off (GATEWAY_AUTH=false)
	// and lets the functions start that way (GATEWAY_OPEN_ACCESS=true; without
	// it a function with authentication off refuses to start). Leave it false
	// for any URL reachable from the internet.
	OpenAccess bool
	// LogRetention for every log group of the stack: the functions', and
	// the front doors' access and execution logs (default one month).
	LogRetention awslogs.RetentionDays
	// Environment adds variables to every function (e.g. GATEWAY_CACHE).
	// Provider keys belong in the secret, not here.
	Environment map[string]string
	// Bedrock turns the Bedrock provider on (BEDROCK_ENABLED=true) and grants
	// every function bedrock:InvokeModel and InvokeModelWithResponseStream,
	// the actions Converse and ConverseStream need. Without it the roles get
	// no Bedrock action at all, unless Environment itself turns the provider
	// on (BEDROCK_ENABLED=true or BEDROCK_MODELS). Turning Bedrock on only
	// in the secret is not enough: its calls would be denied.
	Bedrock bool
	// Monitoring configures the CloudWatch dashboard, the alarms and the
	// functions' metrics namespace (monitoring.go).
	Monitoring MonitoringProps
	// ConfigFile is a gateway TOML configuration (routes, aliases,
	// guardrails, prices, cache TTLs, providers) shipped with every function:
	// copied beside bootstrap as ConfigFileName, named by GATEWAY_CONFIG. It
	// is checked at synth (NewGatewayStack panics naming the bad key); its
	// ${VAR} references resolve at each cold start from the provider secret
	// and the functions' environment. What the stack owns (LockedVariables)
	// stays the stack's whatever the file says.
	ConfigFile string
}

// ConfigFileName is the config file's name in each function's zip, beside
// bootstrap: the functions find it relative to LAMBDA_TASK_ROOT.
const ConfigFileName = "gateway.toml"

// Names of the stack's outputs.
const (
	OutputFunctionURL         = "FunctionUrl"
	OutputRESTAPIURL          = "RestApiUrl"
	OutputRESTAPIDomainURL    = "RestApiDomainUrl"
	OutputRESTAPIDomainTarget = "RestApiDomainTarget"
	OutputHTTPAPIURL          = "HttpApiUrl"
	OutputTableName           = "TableName"
	OutputSecretName          = "SecretName"
)

// SecretPlaceholderKey is the one entry the provider secret is created with:
// a generated admin key for /admin/*, so a first deploy has a working key
// without any plain text in the template. Replace the secret's value with
// your provider keys, e.g. {"GATEWAY_ADMIN_KEY":"...","OPENAI_API_KEY":"sk-..."}.
const SecretPlaceholderKey = "GATEWAY_ADMIN_KEY"

// DefaultMemoryMB is every function's memory size. make bench's rss phase
// measures ~18 MiB resident idle and ~76 KiB more per open stream (and
// Lambda runs one request per execution environment at a time), so memory
// is not the limit: CPU is. Lambda gives a function a CPU share in
// proportion to memory (one vCPU at 1769 MB), and the gateway spends nearly
// all of a request waiting on the model. make bench (the cost rows by memory
// size) measures the handler's CPU time and waiting for a DynamoDB-backed
// request and prices it at 128 to 1024 MB: at 256 MB a short request billed
// 2 to 9 % less than at 512 MB in three runs on 2026-12-01 and each second of
// waiting costs half as much; at 128 MB the CPU time stretches to 40-55 ms. Raise it with
// FunctionProps.MemoryMB (context memoryMB) if Lambda's Duration says so.
const DefaultMemoryMB = 256

func orDefault(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

// NewGatewayStack defines the serverless gateway: one DynamoDB table for all
// shared state, the provider-key secret, the streaming function behind its
// Function URL and a streaming REST API, optionally the buffered API
// function behind an HTTP API, and a CloudWatch dashboard and alarms on the
// functions' metrics.
func NewGatewayStack(scope constructs.Construct, id string, props *GatewayStackProps) awscdk.Stack {
	if props == nil {
		props = &GatewayStackProps{}
	}
	stack := awscdk.NewStack(scope, &id, &props.StackProps)
	assetDir := props.AssetDir
	if assetDir == "" {
		assetDir = "build"
	}
	removal := props.RemovalPolicy
	if removal == "" {
		removal = awscdk.RemovalPolicy_RETAIN
	}
	urlAuth := props.FunctionURLAuth
	if urlAuth == "" {
		urlAuth = awslambda.FunctionUrlAuthType_NONE
	}
	retention := props.LogRetention
	if retention == "" {
		retention = awslogs.RetentionDays_ONE_MONTH
	}
	monitoring := props.Monitoring.resolve(*stack.StackName())
	rest := props.REST
	if !rest.Disable {
		rest = rest.resolve()
	}
	if rest.Disable && props.NoFunctionURL {
		panic("no streaming front door: keep the Function URL or the REST API")
	}
	var configText []byte
	if props.ConfigFile != "" {
		text, err := CheckConfigFile(props.ConfigFile)
		if err != nil {
			panic(err.Error())
		}
		configText = text
	}

	// One table, the layout of internal/state: pk/sk strings, TTL on `ttl`.
	table := awsdynamodb.NewTable(stack, jsii.String("State"), &awsdynamodb.TableProps{
		PartitionKey:        &awsdynamodb.Attribute{Name: jsii.String("pk"), Type: awsdynamodb.AttributeType_STRING},
		SortKey:             &awsdynamodb.Attribute{Name: jsii.String("sk"), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: jsii.String("ttl"),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		RemovalPolicy: removal,
		// Deletion protection unless the stack is meant to go away with
		// its state (RemovalPolicy DESTROY, dev stacks): a protected table
		// would make `cdk destroy` fail.
		DeletionProtection: jsii.Bool(removal != awscdk.RemovalPolicy_DESTROY),
	})

	secret := awssecretsmanager.NewSecret(stack, jsii.String("ProviderKeys"), &awssecretsmanager.SecretProps{
		Description: jsii.String("AI gateway provider keys: a JSON object of environment-style names to values, " +
			`e.g. {"OPENAI_API_KEY":"sk-..."}; read once per cold start`),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			SecretStringTemplate: jsii.String("{}"),
			GenerateStringKey:    jsii.String(SecretPlaceholderKey),
			ExcludePunctuation:   jsii.Bool(true),
			PasswordLength:       jsii.Number(40),
		},
		RemovalPolicy: removal,
	})

	auth := "true"
	if props.OpenAccess {
		auth = "false"
	}
	// Lambda's invocation payload tops out at 6 MB: refuse bigger bodies with
	// the gateway's own 413 rather than Lambda's error (overridable below).
	env := map[string]*string{"GATEWAY_MAX_BODY_BYTES": jsii.String("5000000")}
	for k, v := range props.Environment {
		env[k] = jsii.String(v)
	}
	// What the stack owns, over Environment: the functions take these from
	// their environment alone (LockedVariables), never from the config file
	// or the secret.
	env["TABLE_NAME"] = table.TableName()
	env["GATEWAY_STORE"] = jsii.String("dynamodb")
	env["GATEWAY_AUTH"] = jsii.String(auth)
	env["PROVIDER_SECRET_ARN"] = secret.SecretArn()
	env[MetricsNamespaceEnv] = jsii.String(monitoring.Namespace)
	env[config.LockedEnv] = jsii.String(strings.Join(LockedVariables, ","))
	delete(env, config.FileEnv)
	delete(env, config.OpenAccessEnv)
	if props.OpenAccess {
		// Without it a function with authentication off refuses to start.
		env[config.OpenAccessEnv] = jsii.String("true")
	}
	if configText != nil {
		env[config.FileEnv] = jsii.String(ConfigFileName)
	}

	// What the roles may do is exactly what the code calls; iam_test.go
	// reads the calls from the source and keeps the lists in step.
	//
	// internal/state/dynamo: GetItem, PutItem, UpdateItem, BatchGetItem and
	// Query (listing keys) and TransactWriteItems, which IAM authorizes as
	// the PutItem and DeleteItem of its items. No index, no stream, no Scan.
	dynamo := awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ReadWriteStateTable"),
		Actions:   jsii.Strings(dynamoActions...),
		Resources: &[]*string{table.TableArn()},
	})
	// internal/lambdafn/secret.go: one GetSecretValue per cold start.
	secretRead := awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ReadProviderSecret"),
		Actions:   jsii.Strings("secretsmanager:GetSecretValue"),
		Resources: &[]*string{secret.SecretArn()},
	})
	// internal/provider/bedrock: Converse and ConverseStream, on foundation
	// models in any region (cross-region inference profiles route to other
	// regions) and on this account's inference profiles.
	var bedrock awsiam.PolicyStatement
	if props.Bedrock || props.Environment["BEDROCK_ENABLED"] == "true" || props.Environment["BEDROCK_MODELS"] != "" {
		bedrock = awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:     jsii.String("InvokeBedrockModels"),
			Actions: jsii.Strings("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"),
			Resources: jsii.Strings(
				"arn:"+*awscdk.Aws_PARTITION()+":bedrock:*::foundation-model/*",
				"arn:"+*awscdk.Aws_PARTITION()+":bedrock:*:"+*awscdk.Aws_ACCOUNT_ID()+":inference-profile/*",
			),
		})
		if props.Bedrock {
			env["BEDROCK_ENABLED"] = jsii.String("true")
		}
	}

	function := func(name string, sizing FunctionProps, defTimeout float64) awslambda.Function {
		logs := awslogs.NewLogGroup(stack, jsii.String(name+"Logs"), &awslogs.LogGroupProps{
			Retention:     retention,
			RemovalPolicy: removal,
		})
		// An own role rather than the one Function creates, which carries
		// AWSLambdaBasicExecutionRole (logs on every log group): this one
		// writes to its function's log group only.
		role := awsiam.NewRole(stack, jsii.String(name+"Role"), &awsiam.RoleProps{
			AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
			Description: jsii.String("AI gateway: the " + name + " function"),
		})
		logs.GrantWrite(role)
		role.AddToPrincipalPolicy(dynamo)
		role.AddToPrincipalPolicy(secretRead)
		if bedrock != nil {
			role.AddToPrincipalPolicy(bedrock)
		}
		fp := &awslambda.FunctionProps{
			Description:  jsii.String("AI gateway: " + name),
			Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
			Architecture: awslambda.Architecture_ARM_64(),
			Handler:      jsii.String("bootstrap"),
			Code:         awslambda.Code_FromAsset(jsii.String(functionAsset(stack, assetDir, name, configText)), nil),
			MemorySize:   jsii.Number(memoryMB(name, sizing.MemoryMB)),
			Timeout:      awscdk.Duration_Seconds(jsii.Number(orDefault(sizing.TimeoutSeconds, defTimeout))),
			Environment:  &env,
			LogGroup:     logs,
			Role:         role,
		}
		if sizing.ReservedConcurrency > 0 {
			fp.ReservedConcurrentExecutions = jsii.Number(sizing.ReservedConcurrency)
		}
		return awslambda.NewFunction(stack, jsii.String(name), fp)
	}
	on := monitored{fns: map[string]awslambda.Function{}, timeoutSeconds: map[string]float64{}, table: table}
	if props.HTTPAPI {
		apiFn := function("Api", props.API, apiTimeout)
		on.fns["Api"], on.timeoutSeconds["Api"] = apiFn, orDefault(props.API.TimeoutSeconds, apiTimeout)
		on.httpAPI = httpAPI(stack, apiFn, retention, removal)
	}
	streamFn := function("Stream", props.Stream, streamTimeout)
	on.fns["Stream"], on.timeoutSeconds["Stream"] = streamFn, orDefault(props.Stream.TimeoutSeconds, streamTimeout)
	if !props.NoFunctionURL {
		url := streamFn.AddFunctionUrl(&awslambda.FunctionUrlOptions{
			AuthType:   urlAuth,
			InvokeMode: awslambda.InvokeMode_RESPONSE_STREAM,
		})
		on.url = "Stream"
		awscdk.NewCfnOutput(stack, jsii.String(OutputFunctionURL), &awscdk.CfnOutputProps{
			Value: url.Url(), Description: jsii.String("Streaming endpoint (OpenAI base_url: this URL + v1)"),
		})
		if rest.WebACLARN != "" {
			awscdk.Annotations_Of(stack).AddWarningV2(jsii.String("aigateway:functionUrlBypassesWaf"), jsii.String(
				"the REST API has a web ACL, but the Function URL reaches the same function without it: "+
					"deploy with NoFunctionURL (-c functionUrl=false)"))
		}
	}
	if !rest.Disable {
		on.restAPI = restAPI(stack, rest, streamFn, on.timeoutSeconds["Stream"], retention, removal)
	}

	awscdk.NewCfnOutput(stack, jsii.String(OutputTableName), &awscdk.CfnOutputProps{Value: table.TableName()})
	awscdk.NewCfnOutput(stack, jsii.String(OutputSecretName), &awscdk.CfnOutputProps{
		Value: secret.SecretName(), Description: jsii.String("Put provider keys here as JSON"),
	})
	addMonitoring(stack, monitoring, on)
	return stack
}

// httpAPI puts the Api function behind an HTTP API (payload 2.0), buffered.
func httpAPI(stack awscdk.Stack, apiFn awslambda.Function, retention awslogs.RetentionDays,
	removal awscdk.RemovalPolicy) awsapigatewayv2.HttpApi {
	api := awsapigatewayv2.NewHttpApi(stack, jsii.String("HttpApi"), &awsapigatewayv2.HttpApiProps{
		Description: jsii.String("AI gateway (buffered; streaming clients use the REST API or the Function URL)"),
		DefaultIntegration: awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("ApiIntegration"), apiFn,
			&awsapigatewayv2integrations.HttpLambdaIntegrationProps{
				PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0(),
			}),
	})
	// Access logs: one JSON line per request, also for the requests that
	// never reach the function or end in API Gateway's own error (its 30 s
	// timeout, throttling), which write no gateway log or EMF line. HTTP
	// APIs log through API Gateway's service-linked role: no grant here.
	accessLogs := awslogs.NewLogGroup(stack, jsii.String("HttpApiAccessLogs"), &awslogs.LogGroupProps{
		Retention:     retention,
		RemovalPolicy: removal,
	})
	api.DefaultStage().Node().DefaultChild().(awsapigatewayv2.CfnStage).SetAccessLogSettings(
		&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
			DestinationArn: accessLogs.LogGroupArn(),
			Format:         jsii.String(HTTPAPIAccessLogFormat),
		})
	awscdk.NewCfnOutput(stack, jsii.String(OutputHTTPAPIURL), &awscdk.CfnOutputProps{
		Value: api.Url(), Description: jsii.String("Buffered endpoint (API Gateway HTTP API)"),
	})
	return api
}

// Default timeouts in seconds: the HTTP API's own limit, and long
// completions.
const (
	apiTimeout    = 30
	streamTimeout = 300
)

// memoryMB is a function's memory size: mb, or DefaultMemoryMB when 0. It
// panics, as CDK constructs do, on a size Lambda refuses.
func memoryMB(name string, mb float64) float64 {
	mb = orDefault(mb, DefaultMemoryMB)
	if mb < 128 || mb > 10240 || mb != math.Trunc(mb) {
		panic(fmt.Sprintf("%s function: memory %v MB is not a whole number from 128 to 10240", name, mb))
	}
	return mb
}

// HTTPAPIAccessLogFormat is the HTTP API's access log line: no headers, no
// body, no key.
const HTTPAPIAccessLogFormat = `{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",` +
	`"requestTime":"$context.requestTime","method":"$context.httpMethod","path":"$context.path",` +
	`"status":"$context.status","protocol":"$context.protocol","responseLength":"$context.responseLength",` +
	`"responseLatency":"$context.responseLatency","integrationStatus":"$context.integrationStatus",` +
	`"integrationLatency":"$context.integrationLatency","integrationError":"$context.integrationErrorMessage",` +
	`"error":"$context.error.message"}`

// dynamoActions are the table actions the functions' roles get: the calls
// of internal/state/dynamo (its API interface), TransactWriteItems as the
// PutItem (Keys.Create) and DeleteItem (Keys.Delete) IAM checks it as.
var dynamoActions = []string{
	"dynamodb:BatchGetItem", "dynamodb:DeleteItem", "dynamodb:GetItem",
	"dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
}

// LockedVariables are the settings the stack owns, listed in the functions'
// GATEWAY_LOCKED: the store and its table, authentication and the metrics
// namespace come from the functions' environment alone, and a config file
// that sets them (or a local DynamoDB endpoint, or table creation) is
// overridden, with a warning in the log.
var LockedVariables = []string{
	"GATEWAY_AUTH", "GATEWAY_STORE", "TABLE_NAME", "DYNAMODB_ENDPOINT", "GATEWAY_CREATE_TABLE", MetricsNamespaceEnv,
}

// synthPlaceholder stands for every ${VAR} when a config file is checked
// at synth: the values live in the secret, read at cold start. It is long
// enough for the checks on secrets (a JWT secret needs 32 characters).
const synthPlaceholder = "value-read-from-the-provider-secret-at-cold-start"

// CheckConfigFile reads a config file and checks it by itself with
// config.Parse, taking every ${VAR} as set: an error names the file and the
// bad key.
func CheckConfigFile(path string) ([]byte, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	if _, err := config.Parse(string(text), func(string) string { return synthPlaceholder }); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	return text, nil
}

// functionAsset is the folder a function's code is zipped from: its folder
// under assetDir, or with a config file a copy of it under the cloud
// assembly's output folder with the file added as ConfigFileName.
func functionAsset(stack awscdk.Stack, assetDir, name string, configText []byte) string {
	src := filepath.Join(assetDir, fnDir[name])
	if configText == nil {
		return src
	}
	dst := filepath.Join(*awscdk.Stage_Of(stack).Outdir(), "gateway-config", *stack.StackName(), fnDir[name])
	if err := stageAsset(src, dst, configText); err != nil {
		panic(fmt.Sprintf("%s function: shipping the config file: %v", name, err))
	}
	return dst
}

// stageAsset makes dst a copy of the regular files of src plus the config
// file.
func stageAsset(src, dst string, configText []byte) error {
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || e.Name() == ConfigFileName {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, info.Mode().Perm()); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dst, ConfigFileName), configText, 0o644)
}

// fnDir maps a construct name to its folder under AssetDir.
var fnDir = map[string]string{"Api": "api", "Stream": "stream"}
