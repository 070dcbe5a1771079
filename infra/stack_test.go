package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"

	"github.com/aigateway/gateway/internal/config"
)

// assetDir makes placeholder asset folders: synth needs them to exist, not
// to hold a real bootstrap.
func assetDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, fn := range []string{"api", "stream"} {
		if err := os.MkdirAll(filepath.Join(dir, fn), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fn, "bootstrap"), []byte("placeholder"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func synth(t *testing.T, props *GatewayStackProps) assertions.Template {
	t.Helper()
	tmpl, _ := synthIn(t, props)
	return tmpl
}

// synthIn is synth that also returns the cloud assembly's folder, where the
// assets are staged.
func synthIn(t *testing.T, props *GatewayStackProps) (assertions.Template, string) {
	t.Helper()
	props.AssetDir = assetDir(t)
	out := t.TempDir()
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(out)})
	return assertions.Template_FromStack(NewGatewayStack(app, "Test", props), nil), out
}

var (
	defaultOnce     sync.Once
	defaultTemplate assertions.Template
	defaultJSON     map[string]any

	everyDoorOnce     sync.Once
	everyDoorTemplate assertions.Template
	everyDoorJSON     map[string]any
)

// defaults is the stack with every prop left at its default, synthesized once.
func defaults(t *testing.T) (assertions.Template, map[string]any) {
	t.Helper()
	defaultOnce.Do(func() {
		defaultTemplate = synth(t, &GatewayStackProps{})
		defaultJSON = *defaultTemplate.ToJSON()
	})
	if defaultTemplate == nil {
		t.Fatal("the default stack did not synthesize")
	}
	return defaultTemplate, defaultJSON
}

// everyDoor is the stack with all three front doors (the Function URL, the
// REST API and the HTTP API, so both functions), synthesized once.
func everyDoor(t *testing.T) (assertions.Template, map[string]any) {
	t.Helper()
	everyDoorOnce.Do(func() {
		everyDoorTemplate = synth(t, &GatewayStackProps{HTTPAPI: true})
		everyDoorJSON = *everyDoorTemplate.ToJSON()
	})
	if everyDoorTemplate == nil {
		t.Fatal("the stack with every front door did not synthesize")
	}
	return everyDoorTemplate, everyDoorJSON
}

// check runs a jsii assertion, which panics on a mismatch, as a test error.
func check(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("%s: %v", what, p)
		}
	}()
	f()
}

// resources returns the template's resources of one type, by logical id.
func resources(tmpl map[string]any, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range tmpl["Resources"].(map[string]any) {
		if m := r.(map[string]any); m["Type"] == typ {
			out[id] = m
		}
	}
	return out
}

func only(t *testing.T, tmpl map[string]any, typ string) string {
	t.Helper()
	rs := resources(tmpl, typ)
	if len(rs) != 1 {
		t.Fatalf("%d %s resources, want 1", len(rs), typ)
	}
	for id := range rs {
		return id
	}
	return ""
}

// functionID finds a Lambda function by its description suffix (Api, Stream).
func functionID(t *testing.T, tmpl map[string]any, name string) string {
	t.Helper()
	for id, r := range resources(tmpl, "AWS::Lambda::Function") {
		if r["Properties"].(map[string]any)["Description"] == "AI gateway: "+name {
			return id
		}
	}
	t.Fatalf("no %s function", name)
	return ""
}

func TestTheTableIsOnDemandWithTTLAndPointInTimeRecovery(t *testing.T) {
	tmpl, _ := defaults(t)
	check(t, "one table", func() { tmpl.ResourceCountIs(jsii.String("AWS::DynamoDB::Table"), jsii.Number(1)) })
	check(t, "table properties", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"KeySchema": []any{
				map[string]any{"AttributeName": "pk", "KeyType": "HASH"},
				map[string]any{"AttributeName": "sk", "KeyType": "RANGE"},
			},
			"AttributeDefinitions": []any{
				map[string]any{"AttributeName": "pk", "AttributeType": "S"},
				map[string]any{"AttributeName": "sk", "AttributeType": "S"},
			},
			"BillingMode":                      "PAY_PER_REQUEST",
			"TimeToLiveSpecification":          map[string]any{"AttributeName": "ttl", "Enabled": true},
			"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
			"ProvisionedThroughput":            assertions.Match_Absent(),
			"DeletionProtectionEnabled":        true,
		})
	})
	check(t, "retained by default", func() {
		tmpl.HasResource(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
		})
	})
}

func TestTheRemovalPolicyPropReachesTableSecretAndLogs(t *testing.T) {
	tmpl := synth(t, &GatewayStackProps{RemovalPolicy: awscdk.RemovalPolicy_DESTROY})
	for _, typ := range []string{"AWS::DynamoDB::Table", "AWS::SecretsManager::Secret", "AWS::Logs::LogGroup"} {
		check(t, typ, func() {
			tmpl.AllResources(jsii.String(typ), map[string]any{"DeletionPolicy": "Delete"})
		})
	}
	// A protected table would make the stack's deletion fail.
	check(t, "no deletion protection", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"DeletionProtectionEnabled": false,
		})
	})
}

func TestBothFunctionsAreArmAL2023WithTheirSizing(t *testing.T) {
	// By default only the Stream function; the Api one comes with the HTTP API.
	plain, _ := defaults(t)
	check(t, "one function by default", func() { plain.ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(1)) })
	tmpl, j := everyDoor(t)
	check(t, "two functions", func() { tmpl.ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(2)) })
	table, secret := only(t, j, "AWS::DynamoDB::Table"), only(t, j, "AWS::SecretsManager::Secret")
	for name, timeout := range map[string]int{"Api": 30, "Stream": 300} {
		check(t, name, func() {
			tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
				"Description":   "AI gateway: " + name,
				"Runtime":       "provided.al2023",
				"Architectures": []any{"arm64"},
				"Handler":       "bootstrap",
				"MemorySize":    DefaultMemoryMB,
				"Timeout":       timeout,
				"Environment": map[string]any{"Variables": map[string]any{
					"TABLE_NAME":          map[string]any{"Ref": table},
					"PROVIDER_SECRET_ARN": map[string]any{"Ref": secret},
					"GATEWAY_STORE":       "dynamodb",
					"GATEWAY_AUTH":        "true",
					// Under Lambda's 6 MB payload limit, so the gateway answers 413 itself.
					"GATEWAY_MAX_BODY_BYTES": "5000000",
				}},
				"ReservedConcurrentExecutions": assertions.Match_Absent(),
				"LoggingConfig": map[string]any{"LogGroup": map[string]any{
					"Ref": assertions.Match_StringLikeRegexp(jsii.String("^" + name + "Logs")),
				}},
			})
		})
	}
}

func TestTheDefaultMemoryIs256MB(t *testing.T) {
	if DefaultMemoryMB != 256 {
		t.Errorf("DefaultMemoryMB %d: say why in its comment and in infra/README.md, then change this test", DefaultMemoryMB)
	}
	tmpl, _ := defaults(t)
	check(t, "256 MB, arm64", func() {
		tmpl.AllResourcesProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
			"MemorySize": 256, "Architectures": []any{"arm64"},
		})
	})
}

func TestMemoryOutsideLambdasRangeIsRefused(t *testing.T) {
	for _, mb := range []float64{64, 127, 10241, 256.5, -1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("memory %v MB accepted", mb)
				}
			}()
			memoryMB("Api", mb)
		}()
	}
	for in, want := range map[float64]float64{0: DefaultMemoryMB, 128: 128, 10240: 10240, 1769: 1769} {
		if got := memoryMB("Api", in); got != want {
			t.Errorf("memoryMB(%v) = %v, want %v", in, got, want)
		}
	}
}

func TestFunctionSizingAndEnvironmentComeFromProps(t *testing.T) {
	tmpl := synth(t, &GatewayStackProps{
		HTTPAPI:     true,
		API:         FunctionProps{MemoryMB: 256, TimeoutSeconds: 29, ReservedConcurrency: 5},
		Stream:      FunctionProps{MemoryMB: 1024, TimeoutSeconds: 900, ReservedConcurrency: 20},
		OpenAccess:  true,
		Environment: map[string]string{"BEDROCK_ENABLED": "true"},
	})
	for name, want := range map[string][3]int{"Api": {256, 29, 5}, "Stream": {1024, 900, 20}} {
		check(t, name, func() {
			tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
				"Description": "AI gateway: " + name, "MemorySize": want[0], "Timeout": want[1],
				"ReservedConcurrentExecutions": want[2],
				"Environment": map[string]any{"Variables": assertions.Match_ObjectLike(&map[string]any{
					"BEDROCK_ENABLED": "true", "GATEWAY_AUTH": "false",
				})},
			})
		})
	}
}

// The functions take what the stack owns from their environment alone: a
// config file or the secret cannot turn authentication off or move the state
// or the metrics (internal/lambdafn tests run that through the bootstrap).
func TestTheStackLocksWhatItOwnsAndStartsOnlyWithAuthOn(t *testing.T) {
	for _, name := range LockedVariables {
		if e, ok := config.LookupEnvVar(name); !ok || e.Credential {
			t.Errorf("locked %s is not a setting variable of internal/config", name)
		}
	}
	for _, owned := range []string{"GATEWAY_AUTH", "GATEWAY_STORE", "TABLE_NAME", MetricsNamespaceEnv} {
		if !slices.Contains(LockedVariables, owned) {
			t.Errorf("%s is not locked", owned)
		}
	}
	tmpl, _ := defaults(t)
	check(t, "locked, auth on, no open access", func() {
		tmpl.AllResourcesProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
			"Environment": map[string]any{"Variables": assertions.Match_ObjectLike(&map[string]any{
				config.LockedEnv:     strings.Join(LockedVariables, ","),
				"GATEWAY_AUTH":       "true",
				config.OpenAccessEnv: assertions.Match_Absent(),
				config.FileEnv:       assertions.Match_Absent(),
			})},
		})
	})
	// Environment cannot claim open access, lock less or name a file.
	sneaky := synth(t, &GatewayStackProps{Environment: map[string]string{
		config.OpenAccessEnv: "true", "GATEWAY_AUTH": "false", config.LockedEnv: "", config.FileEnv: "/tmp/x.toml",
	}})
	check(t, "Environment loses to the stack", func() {
		sneaky.AllResourcesProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
			"Environment": map[string]any{"Variables": assertions.Match_ObjectLike(&map[string]any{
				config.LockedEnv:     strings.Join(LockedVariables, ","),
				"GATEWAY_AUTH":       "true",
				config.OpenAccessEnv: assertions.Match_Absent(),
				config.FileEnv:       assertions.Match_Absent(),
			})},
		})
	})
	open := synth(t, &GatewayStackProps{OpenAccess: true})
	check(t, "open access on purpose", func() {
		open.AllResourcesProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
			"Environment": map[string]any{"Variables": assertions.Match_ObjectLike(&map[string]any{
				"GATEWAY_AUTH": "false", config.OpenAccessEnv: "true",
			})},
		})
	})
}

func TestTheFunctionURLStreamsAndLeavesAuthToTheGateway(t *testing.T) {
	tmpl, j := defaults(t)
	stream := functionID(t, j, "Stream")
	check(t, "one URL", func() { tmpl.ResourceCountIs(jsii.String("AWS::Lambda::Url"), jsii.Number(1)) })
	check(t, "URL", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Url"), map[string]any{
			"AuthType":          "NONE",
			"InvokeMode":        "RESPONSE_STREAM",
			"TargetFunctionArn": map[string]any{"Fn::GetAtt": []any{stream, "Arn"}},
		})
	})
	check(t, "public invoke permission", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Permission"), map[string]any{
			"Action": "lambda:InvokeFunctionUrl", "Principal": "*", "FunctionUrlAuthType": "NONE",
			"FunctionName": map[string]any{"Fn::GetAtt": []any{stream, "Arn"}},
		})
	})
	// New Function URLs also need lambda:InvokeFunction, limited to calls
	// that come through the URL.
	check(t, "invoke through the URL only", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Permission"), map[string]any{
			"Action": "lambda:InvokeFunction", "Principal": "*", "InvokedViaFunctionUrl": true,
			"FunctionName": map[string]any{"Fn::GetAtt": []any{stream, "Arn"}},
		})
	})
}

func TestTheFunctionURLCanRequireIAM(t *testing.T) {
	tmpl := synth(t, &GatewayStackProps{FunctionURLAuth: awslambda.FunctionUrlAuthType_AWS_IAM})
	check(t, "URL", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Url"), map[string]any{
			"AuthType": "AWS_IAM", "InvokeMode": "RESPONSE_STREAM",
		})
	})
	check(t, "no public permission", func() {
		tmpl.ResourcePropertiesCountIs(jsii.String("AWS::Lambda::Permission"),
			map[string]any{"Principal": "*"}, jsii.Number(0))
	})
}

// The buffered HTTP API, and the Api function behind it, come only when
// asked for: the REST API serves the same clients and streams.
func TestTheHTTPAPIIsThereOnlyWhenAskedFor(t *testing.T) {
	tmpl, j := defaults(t)
	for _, typ := range []string{"AWS::ApiGatewayV2::Api", "AWS::ApiGatewayV2::Stage", "AWS::ApiGatewayV2::Integration"} {
		check(t, "no "+typ, func() { tmpl.ResourceCountIs(jsii.String(typ), jsii.Number(0)) })
	}
	check(t, "no Api function", func() {
		tmpl.ResourcePropertiesCountIs(jsii.String("AWS::Lambda::Function"),
			map[string]any{"Description": "AI gateway: Api"}, jsii.Number(0))
	})
	if _, ok := j["Outputs"].(map[string]any)[OutputHTTPAPIURL]; ok {
		t.Errorf("output %s without the HTTP API", OutputHTTPAPIURL)
	}
}

func TestTheHTTPAPIProxiesEverythingToTheAPIFunctionWithPayload2(t *testing.T) {
	tmpl, j := everyDoor(t)
	api := functionID(t, j, "Api")
	check(t, "api", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Api"), map[string]any{"ProtocolType": "HTTP"})
	})
	check(t, "integration", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Integration"), map[string]any{
			"IntegrationType":      "AWS_PROXY",
			"PayloadFormatVersion": "2.0",
			"IntegrationUri":       map[string]any{"Fn::GetAtt": []any{api, "Arn"}},
		})
	})
	check(t, "default route", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Route"), map[string]any{"RouteKey": "$default"})
	})
	check(t, "auto-deployed default stage", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), map[string]any{
			"StageName": "$default", "AutoDeploy": true,
		})
	})
	check(t, "API Gateway may invoke the api function", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Permission"), map[string]any{
			"Action": "lambda:InvokeFunction", "Principal": "apigateway.amazonaws.com",
			"FunctionName": map[string]any{"Fn::GetAtt": []any{api, "Arn"}},
		})
	})
}

func TestTheHTTPAPIWritesAccessLogs(t *testing.T) {
	tmpl, j := everyDoor(t)
	var logs string
	for id := range resources(j, "AWS::Logs::LogGroup") {
		if strings.HasPrefix(id, "HttpApiAccessLogs") {
			logs = id
		}
	}
	if logs == "" {
		t.Fatal("no access log group")
	}
	check(t, "stage access logs", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), map[string]any{
			"StageName": "$default",
			"AccessLogSettings": map[string]any{
				"DestinationArn": map[string]any{"Fn::GetAtt": []any{logs, "Arn"}},
				"Format":         HTTPAPIAccessLogFormat,
			},
		})
	})
	// API Gateway needs the request id in every line; a JSON line is what
	// Logs Insights parses by itself.
	var line map[string]string
	if err := json.Unmarshal([]byte(HTTPAPIAccessLogFormat), &line); err != nil {
		t.Fatalf("access log format is not a JSON object of strings: %v", err)
	}
	if line["requestId"] != "$context.requestId" || line["status"] != "$context.status" {
		t.Errorf("access log format lacks the request id or the status: %v", line)
	}
}

func TestTheProviderSecretStartsAsAJSONObject(t *testing.T) {
	tmpl, _ := defaults(t)
	check(t, "one secret", func() { tmpl.ResourceCountIs(jsii.String("AWS::SecretsManager::Secret"), jsii.Number(1)) })
	check(t, "secret", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::SecretsManager::Secret"), map[string]any{
			"GenerateSecretString": map[string]any{
				"SecretStringTemplate": "{}", "GenerateStringKey": SecretPlaceholderKey,
				"ExcludePunctuation": true, "PasswordLength": 40,
			},
			"SecretString": assertions.Match_Absent(),
		})
	})
}

func TestLogGroupsKeepLogsForAMonth(t *testing.T) {
	tmpl, _ := defaults(t)
	check(t, "the Stream function's log group and the REST API's access and execution logs", func() {
		tmpl.ResourceCountIs(jsii.String("AWS::Logs::LogGroup"), jsii.Number(3))
	})
	all, _ := everyDoor(t)
	check(t, "and the Api function's and the HTTP API's access logs", func() {
		all.ResourceCountIs(jsii.String("AWS::Logs::LogGroup"), jsii.Number(5))
	})
	for _, tm := range []assertions.Template{tmpl, all} {
		check(t, "retention", func() {
			tm.AllResourcesProperties(jsii.String("AWS::Logs::LogGroup"), map[string]any{"RetentionInDays": 30})
		})
	}
	week := synth(t, &GatewayStackProps{LogRetention: awslogs.RetentionDays_ONE_WEEK})
	check(t, "retention prop", func() {
		week.AllResourcesProperties(jsii.String("AWS::Logs::LogGroup"), map[string]any{"RetentionInDays": 7})
	})
}

func TestTheOutputsNameTheURLsTheTableAndTheSecret(t *testing.T) {
	tmpl, j := defaults(t)
	url, rest := only(t, j, "AWS::Lambda::Url"), only(t, j, "AWS::ApiGateway::RestApi")
	table, secret := only(t, j, "AWS::DynamoDB::Table"), only(t, j, "AWS::SecretsManager::Secret")
	check(t, OutputFunctionURL, func() {
		tmpl.HasOutput(jsii.String(OutputFunctionURL), map[string]any{
			"Value": map[string]any{"Fn::GetAtt": []any{url, "FunctionUrl"}}})
	})
	check(t, OutputRESTAPIURL, func() {
		tmpl.HasOutput(jsii.String(OutputRESTAPIURL), map[string]any{
			"Value": map[string]any{"Fn::Join": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ArrayWith(&[]any{map[string]any{"Ref": rest}})})}})
	})
	all, aj := everyDoor(t)
	check(t, OutputHTTPAPIURL, func() {
		all.HasOutput(jsii.String(OutputHTTPAPIURL), map[string]any{
			"Value": map[string]any{"Fn::Join": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ArrayWith(&[]any{map[string]any{"Ref": only(t, aj, "AWS::ApiGatewayV2::Api")}})})}})
	})
	// One URL output per front door: not CDK's own under a generated name.
	for name := range j["Outputs"].(map[string]any) {
		if !slices.Contains([]string{OutputFunctionURL, OutputRESTAPIURL, OutputTableName, OutputSecretName,
			OutputDashboardName, OutputDashboardURL}, name) {
			t.Errorf("unexpected output %s", name)
		}
	}
	check(t, OutputTableName, func() {
		tmpl.HasOutput(jsii.String(OutputTableName), map[string]any{"Value": map[string]any{"Ref": table}})
	})
	check(t, OutputSecretName, func() {
		tmpl.HasOutput(jsii.String(OutputSecretName), map[string]any{"Value": assertions.Match_AnyValue()})
	})
	outputs := j["Outputs"].(map[string]any)
	if v := fmt.Sprint(outputs[OutputSecretName]); !strings.Contains(v, secret) {
		t.Errorf("SecretName output does not refer to the secret %s: %s", secret, v)
	}
}

// statement is one IAM policy statement, normalized.
type statement struct {
	actions   []string
	resources []string // each rendered with fmt, e.g. map[Fn::GetAtt:[StateXXXX Arn]]
}

func statementsOf(t *testing.T, j map[string]any) map[string][]statement {
	t.Helper()
	list := func(v any) []string {
		switch v := v.(type) {
		case []any:
			out := make([]string, len(v))
			for i, e := range v {
				out[i] = fmt.Sprint(e)
			}
			return out
		default:
			return []string{fmt.Sprint(v)}
		}
	}
	byRole := map[string][]statement{}
	for _, p := range resources(j, "AWS::IAM::Policy") {
		props := p["Properties"].(map[string]any)
		role := fmt.Sprint(props["Roles"])
		for _, s := range props["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			sm := s.(map[string]any)
			if sm["Effect"] != "Allow" {
				continue
			}
			byRole[role] = append(byRole[role], statement{actions: list(sm["Action"]), resources: list(sm["Resource"])})
		}
	}
	return byRole
}
