package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// A custom domain, its certificate and a web ACL, as the tests give them.
const (
	testDomain      = "ai.example.com"
	testCertificate = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666"
	testWebACL      = "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/gateway/0a1b2c3d-1111-2222-3333-444455556666"
)

// streamingIntegration is the method integration that streams from the
// Stream function: Lambda proxy, invoked through Lambda's
// response-streaming-invocations path, for timeoutMs.
func streamingIntegration(stream string, timeoutMs int) map[string]any {
	return map[string]any{
		"Type":                  "AWS_PROXY",
		"IntegrationHttpMethod": "POST",
		"ResponseTransferMode":  "STREAM",
		"TimeoutInMillis":       timeoutMs,
		"Uri": map[string]any{"Fn::Join": []any{"", []any{
			"arn:", map[string]any{"Ref": "AWS::Partition"}, ":apigateway:", map[string]any{"Ref": "AWS::Region"},
			":lambda:path/2021-11-15/functions/", map[string]any{"Fn::GetAtt": []any{stream, "Arn"}},
			"/response-streaming-invocations",
		}}},
	}
}

// Every path and method reaches the Stream function, streamed: the root and
// {proxy+}, each ANY with ResponseTransferMode STREAM.
func TestTheRESTAPIStreamsEveryRequestFromTheStreamFunction(t *testing.T) {
	tmpl, j := defaults(t)
	stream, api := functionID(t, j, "Stream"), only(t, j, "AWS::ApiGateway::RestApi")
	check(t, "regional, named after the stack", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::ApiGateway::RestApi"), map[string]any{
			"Name": "Test", "EndpointConfiguration": map[string]any{"Types": []any{"REGIONAL"}},
		})
	})
	check(t, "{proxy+}", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::ApiGateway::Resource"), map[string]any{
			"PathPart": "{proxy+}", "ParentId": map[string]any{"Fn::GetAtt": []any{api, "RootResourceId"}},
		})
	})
	check(t, "two methods", func() { tmpl.ResourceCountIs(jsii.String("AWS::ApiGateway::Method"), jsii.Number(2)) })
	check(t, "both ANY, streamed from the Stream function for its 300 s", func() {
		tmpl.AllResourcesProperties(jsii.String("AWS::ApiGateway::Method"), map[string]any{
			"HttpMethod": "ANY", "AuthorizationType": "NONE", "Integration": streamingIntegration(stream, 300000),
		})
	})
	check(t, "the root is one of them", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::ApiGateway::Method"), map[string]any{
			"ResourceId": map[string]any{"Fn::GetAtt": []any{api, "RootResourceId"}},
		})
	})
	check(t, "one permission for the whole API", func() {
		tmpl.ResourcePropertiesCountIs(jsii.String("AWS::Lambda::Permission"),
			map[string]any{"Principal": "apigateway.amazonaws.com"}, jsii.Number(1))
		tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Permission"), map[string]any{
			"Action": "lambda:InvokeFunction", "Principal": "apigateway.amazonaws.com",
			"FunctionName": map[string]any{"Fn::GetAtt": []any{stream, "Arn"}},
			"SourceArn": map[string]any{"Fn::Join": []any{"", assertions.Match_ArrayWith(&[]any{
				map[string]any{"Ref": api}, "/*/*/*",
			})}},
		})
	})

	// The integration's timeout follows the function's, up to API
	// Gateway's 15 minutes of streaming.
	long := synth(t, &GatewayStackProps{Stream: FunctionProps{TimeoutSeconds: 900}})
	check(t, "900 s", func() {
		long.AllResourcesProperties(jsii.String("AWS::ApiGateway::Method"), map[string]any{
			"Integration": assertions.Match_ObjectLike(&map[string]any{"TimeoutInMillis": 900000}),
		})
	})
}

func TestTheRESTStageThrottlesAndLogs(t *testing.T) {
	tmpl, j := defaults(t)
	api := only(t, j, "AWS::ApiGateway::RestApi")
	var access, exec string
	for id := range resources(j, "AWS::Logs::LogGroup") {
		switch {
		case strings.HasPrefix(id, "RestApiAccessLogs"):
			access = id
		case strings.HasPrefix(id, "RestApiExecutionLogs"):
			exec = id
		}
	}
	if access == "" || exec == "" {
		t.Fatalf("access log group %q, execution log group %q", access, exec)
	}
	check(t, "stage", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::ApiGateway::Stage"), map[string]any{
			"StageName": DefaultRESTStageName,
			"MethodSettings": []any{map[string]any{
				"ResourcePath": "/*", "HttpMethod": "*",
				"ThrottlingRateLimit": DefaultRESTRateLimit, "ThrottlingBurstLimit": DefaultRESTBurstLimit,
				// Errors only, and never bodies (prompts, answers).
				"LoggingLevel": "ERROR", "DataTraceEnabled": false, "MetricsEnabled": false,
			}},
			"AccessLogSetting": map[string]any{
				"DestinationArn": map[string]any{"Fn::GetAtt": []any{access, "Arn"}},
				"Format":         RESTAPIAccessLogFormat,
			},
		})
	})
	// API Gateway names its execution log group itself; the stack owns it
	// (retention) and creates it, and the account's role, before the stage.
	check(t, "execution log group", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Logs::LogGroup"), map[string]any{
			"LogGroupName": map[string]any{"Fn::Join": []any{"", []any{
				"API-Gateway-Execution-Logs_", map[string]any{"Ref": api}, "/" + DefaultRESTStageName,
			}}},
			"RetentionInDays": 30,
		})
	})
	account := only(t, j, "AWS::ApiGateway::Account")
	check(t, "the stage waits for both", func() {
		tmpl.HasResource(jsii.String("AWS::ApiGateway::Stage"), map[string]any{
			"DependsOn": assertions.Match_ArrayWith(&[]any{account, exec}),
		})
	})
	var line map[string]string
	if err := json.Unmarshal([]byte(RESTAPIAccessLogFormat), &line); err != nil {
		t.Fatalf("access log format is not a JSON object of strings: %v", err)
	}
	for k, v := range map[string]string{"requestId": "$context.requestId", "status": "$context.status",
		"integrationError": "$context.integration.error", "wafResponseCode": "$context.wafResponseCode"} {
		if line[k] != v {
			t.Errorf("access log %s = %q, want %q", k, line[k], v)
		}
	}

	custom := synth(t, &GatewayStackProps{REST: RESTAPIProps{StageName: "v2026", RateLimit: 25, BurstLimit: 50}})
	check(t, "throttle and stage props", func() {
		custom.HasResourceProperties(jsii.String("AWS::ApiGateway::Stage"), map[string]any{
			"StageName": "v2026",
			"MethodSettings": []any{assertions.Match_ObjectLike(&map[string]any{
				"ThrottlingRateLimit": 25, "ThrottlingBurstLimit": 50,
			})},
		})
	})
}

// REST API logging needs the account's API Gateway CloudWatch role; the
// stack sets it unless told the account has one.
func TestTheRESTAPISetsTheAccountsCloudWatchRoleUnlessToldNot(t *testing.T) {
	tmpl, j := defaults(t)
	var role string
	for id := range resources(j, "AWS::IAM::Role") {
		if strings.HasPrefix(id, "RestApiCloudWatchRole") {
			role = id
		}
	}
	if role == "" {
		t.Fatal("no CloudWatch role")
	}
	check(t, "account", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::ApiGateway::Account"), map[string]any{
			"CloudWatchRoleArn": map[string]any{"Fn::GetAtt": []any{role, "Arn"}},
		})
	})
	check(t, "role", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::IAM::Role"), map[string]any{
			"AssumeRolePolicyDocument": map[string]any{"Statement": []any{map[string]any{
				"Action": "sts:AssumeRole", "Effect": "Allow",
				"Principal": map[string]any{"Service": "apigateway.amazonaws.com"},
			}}},
			"ManagedPolicyArns": []any{map[string]any{"Fn::Join": []any{"", []any{
				"arn:", map[string]any{"Ref": "AWS::Partition"},
				":iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
			}}}},
		})
	})
	without := synth(t, &GatewayStackProps{REST: RESTAPIProps{NoCloudWatchRole: true}})
	check(t, "no account setting", func() {
		without.ResourceCountIs(jsii.String("AWS::ApiGateway::Account"), jsii.Number(0))
	})
	check(t, "only the function's role", func() {
		without.ResourceCountIs(jsii.String("AWS::IAM::Role"), jsii.Number(1))
	})
}

func TestADomainAndAWebACLOnlyWhenGiven(t *testing.T) {
	tmpl, j := defaults(t)
	for _, typ := range []string{"AWS::ApiGateway::DomainName", "AWS::ApiGateway::BasePathMapping",
		"AWS::WAFv2::WebACLAssociation"} {
		check(t, "no "+typ, func() { tmpl.ResourceCountIs(jsii.String(typ), jsii.Number(0)) })
	}
	for _, out := range []string{OutputRESTAPIDomainURL, OutputRESTAPIDomainTarget} {
		if _, ok := j["Outputs"].(map[string]any)[out]; ok {
			t.Errorf("output %s without a domain", out)
		}
	}

	given := synth(t, &GatewayStackProps{NoFunctionURL: true,
		REST: RESTAPIProps{DomainName: testDomain, CertificateARN: testCertificate, WebACLARN: testWebACL}})
	gj := *given.ToJSON()
	api, stage := only(t, gj, "AWS::ApiGateway::RestApi"), only(t, gj, "AWS::ApiGateway::Stage")
	domain := only(t, gj, "AWS::ApiGateway::DomainName")
	check(t, "domain", func() {
		given.HasResourceProperties(jsii.String("AWS::ApiGateway::DomainName"), map[string]any{
			"DomainName": testDomain, "RegionalCertificateArn": testCertificate,
			"EndpointConfiguration": map[string]any{"Types": []any{"REGIONAL"}}, "SecurityPolicy": "TLS_1_2",
		})
	})
	check(t, "mapped at the root to the stage", func() {
		given.HasResourceProperties(jsii.String("AWS::ApiGateway::BasePathMapping"), map[string]any{
			"DomainName": map[string]any{"Ref": domain}, "RestApiId": map[string]any{"Ref": api},
			"Stage": map[string]any{"Ref": stage}, "BasePath": assertions.Match_Absent(),
		})
	})
	check(t, "web ACL on the stage", func() {
		given.HasResourceProperties(jsii.String("AWS::WAFv2::WebACLAssociation"), map[string]any{
			"WebACLArn": testWebACL,
			"ResourceArn": map[string]any{"Fn::Join": []any{"", assertions.Match_ArrayWith(&[]any{
				map[string]any{"Ref": api}, "/stages/", map[string]any{"Ref": stage},
			})}},
		})
	})
	check(t, "domain outputs", func() {
		given.HasOutput(jsii.String(OutputRESTAPIDomainURL), map[string]any{"Value": "https://" + testDomain + "/"})
		given.HasOutput(jsii.String(OutputRESTAPIDomainTarget), map[string]any{
			"Value": map[string]any{"Fn::GetAtt": []any{domain, "RegionalDomainName"}}})
	})
}

// A web ACL in front of the REST API means little while the Function URL
// reaches the same function without it: synth warns.
func TestAWebACLWithTheFunctionURLStillOnWarns(t *testing.T) {
	warning := assertions.Match_StringLikeRegexp(jsii.String("Function URL reaches the same function"))
	for name, c := range map[string]struct {
		props *GatewayStackProps
		warns bool
	}{
		"web ACL and Function URL": {&GatewayStackProps{REST: RESTAPIProps{WebACLARN: testWebACL}}, true},
		"web ACL, no URL":          {&GatewayStackProps{NoFunctionURL: true, REST: RESTAPIProps{WebACLARN: testWebACL}}, false},
		"no web ACL":               {&GatewayStackProps{}, false},
	} {
		c.props.AssetDir = assetDir(t)
		app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
		stack := NewGatewayStack(app, "Warn", c.props)
		found := assertions.Annotations_FromStack(stack).FindWarning(jsii.String("*"), warning)
		if got := len(*found) > 0; got != c.warns {
			t.Errorf("%s: warned %v, want %v", name, got, c.warns)
		}
	}
}

func TestEitherStreamingFrontDoorCanBeLeftOut(t *testing.T) {
	noURL := synth(t, &GatewayStackProps{NoFunctionURL: true})
	nj := *noURL.ToJSON()
	check(t, "no Function URL", func() { noURL.ResourceCountIs(jsii.String("AWS::Lambda::Url"), jsii.Number(0)) })
	check(t, "no public permission", func() {
		noURL.ResourcePropertiesCountIs(jsii.String("AWS::Lambda::Permission"),
			map[string]any{"Principal": "*"}, jsii.Number(0))
	})
	check(t, "no URL alarm", func() {
		noURL.ResourcePropertiesCountIs(jsii.String(alarmType), map[string]any{
			"AlarmDescription": assertions.Match_StringLikeRegexp(jsii.String("Function URL")),
		}, jsii.Number(0))
	})
	hasAlarm(t, noURL, "REST API 5xx rate", restAPI5xxAlarm("Test", 5, 3, 300))
	if _, ok := nj["Outputs"].(map[string]any)[OutputFunctionURL]; ok {
		t.Errorf("output %s without a Function URL", OutputFunctionURL)
	}

	noREST := synth(t, &GatewayStackProps{REST: RESTAPIProps{Disable: true}})
	rj := *noREST.ToJSON()
	for _, typ := range []string{"AWS::ApiGateway::RestApi", "AWS::ApiGateway::Stage", "AWS::ApiGateway::Account"} {
		check(t, "no "+typ, func() { noREST.ResourceCountIs(jsii.String(typ), jsii.Number(0)) })
	}
	check(t, "the Function URL stays", func() { noREST.ResourceCountIs(jsii.String("AWS::Lambda::Url"), jsii.Number(1)) })
	check(t, "no REST alarm", func() {
		noREST.ResourcePropertiesCountIs(jsii.String(alarmType), map[string]any{
			"AlarmDescription": assertions.Match_StringLikeRegexp(jsii.String("REST API")),
		}, jsii.Number(0))
	})
	if _, ok := rj["Outputs"].(map[string]any)[OutputRESTAPIURL]; ok {
		t.Errorf("output %s without the REST API", OutputRESTAPIURL)
	}

	defer func() {
		if recover() == nil {
			t.Error("a stack with neither streaming front door synthesized")
		}
	}()
	synth(t, &GatewayStackProps{NoFunctionURL: true, REST: RESTAPIProps{Disable: true}})
}

func TestRESTAPIPropsAPIGatewayWouldRefuseAreRefused(t *testing.T) {
	for name, bad := range map[string]RESTAPIProps{
		"stage with a slash":            {StageName: "a/b"},
		"negative rate":                 {RateLimit: -1},
		"fractional burst":              {BurstLimit: 2.5},
		"domain without certificate":    {DomainName: testDomain},
		"certificate without domain":    {CertificateARN: testCertificate},
		"upper-case domain":             {DomainName: "AI.example.com", CertificateARN: testCertificate},
		"domain with a path":            {DomainName: "example.com/ai", CertificateARN: testCertificate},
		"not an ACM ARN":                {DomainName: testDomain, CertificateARN: "arn:aws:iam::123456789012:server-certificate/x"},
		"a CloudFront-scope web ACL":    {WebACLARN: "arn:aws:wafv2:us-east-1:123456789012:global/webacl/gw/0a1b"},
		"a classic WAF web ACL id":      {WebACLARN: "0a1b2c3d-1111-2222-3333-444455556666"},
		"a web ACL ARN with no id tail": {WebACLARN: "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/gw"},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: %+v accepted", name, bad)
				}
			}()
			bad.resolve()
		}()
	}
	got := RESTAPIProps{}.resolve()
	want := RESTAPIProps{StageName: DefaultRESTStageName, RateLimit: DefaultRESTRateLimit, BurstLimit: DefaultRESTBurstLimit}
	if got != want {
		t.Errorf("defaults %+v, want %+v", got, want)
	}
	ok := RESTAPIProps{DomainName: testDomain, CertificateARN: testCertificate, WebACLARN: testWebACL}
	if fmt.Sprint(ok.resolve().DomainName) != testDomain {
		t.Error("a valid domain, certificate and web ACL were not kept")
	}
}

// The CDK app refuses a domain without its certificate before it writes
// anything, as `cdk synth -c domainName=...` runs it.
func TestSynthWithADomainButNoCertificateFails(t *testing.T) {
	ctx, _ := json.Marshal(map[string]any{"domainName": testDomain})
	out := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), runMainEnv+"=1", "CDK_CONTEXT_JSON="+string(ctx), "CDK_OUTDIR="+out)
	stderr, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the app succeeded:\n%s", stderr)
	}
	if !strings.Contains(string(stderr), "needs both a domain name and the ARN of its ACM certificate") {
		t.Errorf("the app's error does not say what is missing:\n%s", stderr)
	}
	if tmpls, _ := filepath.Glob(filepath.Join(out, "*.template.json")); len(tmpls) > 0 {
		t.Errorf("a template was written: %v", tmpls)
	}
}
