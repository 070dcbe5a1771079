package main

import (
	"fmt"
	"math"
	"regexp"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awswafv2"
	"github.com/aws/jsii-runtime-go"
)

// RESTAPIProps configure the API Gateway REST API in front of the Stream
// function: its Lambda proxy integration streams (responseTransferMode
// STREAM, the function invoked with InvokeWithResponseStream), so SSE reaches
// the client chunk by chunk for up to 15 minutes, with API Gateway's stage
// throttling, access logs, an optional custom domain and an optional WAF
// web ACL in front. Zero values take the defaults.
type RESTAPIProps struct {
	// Disable leaves the REST API out; the Function URL is then the only
	// streaming front door.
	Disable bool
	// StageName is the stage, the first path segment of the execute-api URL
	// (default "prod": base_url https://<id>.execute-api.<region>.amazonaws.com/prod/v1).
	StageName string
	// RateLimit is the stage's steady-state limit in requests per second,
	// BurstLimit the most it admits at once; over them API Gateway answers
	// 429 without invoking the function. Defaults DefaultRESTRateLimit and
	// DefaultRESTBurstLimit.
	RateLimit, BurstLimit float64
	// DomainName is a custom domain for the API (e.g. ai.example.com), mapped
	// at its root (base_url https://<domain>/v1), with CertificateARN: an ACM
	// certificate in the stack's region that covers it. Both or neither. The
	// stack creates no DNS record: point a CNAME or alias at the
	// RestApiDomainTarget output.
	DomainName, CertificateARN string
	// WebACLARN is an AWS WAFv2 web ACL (scope REGIONAL, in the stack's
	// region) to associate with the stage. With one, also set NoFunctionURL
	// on the stack: the Function URL has no WAF and would be a way around it.
	WebACLARN string
	// NoCloudWatchRole skips the account-level role API Gateway writes REST
	// API logs with (AWS::ApiGateway::Account, one per account and region):
	// set it when the account already has one. Without any, the stage's
	// logging fails to deploy.
	NoCloudWatchRole bool
}

// Defaults of RESTAPIProps. The throttle follows Little's law: at the
// account's default 1,000 concurrent Lambda executions and streams of about
// 10 s, 100 new requests a second fill it; a burst of 200 absorbs a client's
// retry storm without letting it take every environment.
const (
	DefaultRESTStageName  = "prod"
	DefaultRESTRateLimit  = 100
	DefaultRESTBurstLimit = 200
)

// maxStreamSeconds is API Gateway's longest streamed response (and longest
// integration timeout in STREAM mode).
const maxStreamSeconds = 900

var (
	stageNameRE  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	domainNameRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
	acmARNRE     = regexp.MustCompile(`^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]+$`)
	webACLARNRE  = regexp.MustCompile(`^arn:aws[a-z-]*:wafv2:[a-z0-9-]+:\d{12}:regional/webacl/[^/]+/[^/]+$`)
)

// resolve fills in the defaults and panics (as CDK constructs do) on values
// API Gateway would refuse at deploy time.
func (p RESTAPIProps) resolve() RESTAPIProps {
	if p.StageName == "" {
		p.StageName = DefaultRESTStageName
	}
	if !stageNameRE.MatchString(p.StageName) {
		panic(fmt.Sprintf("rest api: stage name %q: letters, digits, - and _ only (at most 128)", p.StageName))
	}
	p.RateLimit = orDefault(p.RateLimit, DefaultRESTRateLimit)
	p.BurstLimit = orDefault(p.BurstLimit, DefaultRESTBurstLimit)
	if p.RateLimit < 0 || p.BurstLimit < 0 || p.BurstLimit != math.Trunc(p.BurstLimit) {
		panic(fmt.Sprintf("rest api: throttle rate %v/s and burst %v: want a positive rate and a whole burst",
			p.RateLimit, p.BurstLimit))
	}
	if (p.DomainName == "") != (p.CertificateARN == "") {
		panic("rest api: a custom domain needs both a domain name and the ARN of its ACM certificate")
	}
	if p.DomainName != "" && !domainNameRE.MatchString(p.DomainName) {
		panic(fmt.Sprintf("rest api: %q is not a lower-case DNS name", p.DomainName))
	}
	if p.CertificateARN != "" && !acmARNRE.MatchString(p.CertificateARN) {
		panic(fmt.Sprintf("rest api: %q is not an ACM certificate ARN", p.CertificateARN))
	}
	if p.WebACLARN != "" && !webACLARNRE.MatchString(p.WebACLARN) {
		panic(fmt.Sprintf("rest api: %q is not the ARN of a regional WAFv2 web ACL", p.WebACLARN))
	}
	return p
}

// restAPI adds the REST API in front of fn (the Stream function, whose
// timeout is timeoutSeconds). p is resolved.
func restAPI(stack awscdk.Stack, p RESTAPIProps, fn awslambda.Function, timeoutSeconds float64,
	retention awslogs.RetentionDays, removal awscdk.RemovalPolicy) awsapigateway.RestApi {
	accessLogs := awslogs.NewLogGroup(stack, jsii.String("RestApiAccessLogs"), &awslogs.LogGroupProps{
		Retention:     retention,
		RemovalPolicy: removal,
	})
	props := &awsapigateway.LambdaRestApiProps{
		// Its name is the ApiName dimension of its metrics: the stack's,
		// so two gateways in one account keep theirs apart.
		RestApiName: stack.StackName(),
		Description: jsii.String("AI gateway (streaming: responseTransferMode STREAM)"),
		// An edge-optimized endpoint cuts a stream that is idle for 30 s
		// (a model thinking before its first token); a regional one
		// allows 5 minutes.
		EndpointTypes:  &[]awsapigateway.EndpointType{awsapigateway.EndpointType_REGIONAL},
		CloudWatchRole: jsii.Bool(!p.NoCloudWatchRole),
		DeployOptions: &awsapigateway.StageOptions{
			StageName:            jsii.String(p.StageName),
			ThrottlingRateLimit:  jsii.Number(p.RateLimit),
			ThrottlingBurstLimit: jsii.Number(p.BurstLimit),
			AccessLogDestination: awsapigateway.NewLogGroupLogDestination(accessLogs),
			AccessLogFormat:      awsapigateway.AccessLogFormat_Custom(jsii.String(RESTAPIAccessLogFormat)),
			// Execution logs for errors only, and never bodies: a
			// request body holds prompts, a response the model's answer.
			LoggingLevel:     awsapigateway.MethodLoggingLevel_ERROR,
			DataTraceEnabled: jsii.Bool(false),
			MetricsEnabled:   jsii.Bool(false),
		},
		Handler: fn,
		// Every path and method to the function (the gateway routes and
		// answers 404 itself), streamed, for as long as the function runs.
		Proxy: jsii.Bool(true),
		IntegrationOptions: &awsapigateway.LambdaIntegrationOptions{
			ResponseTransferMode: awsapigateway.ResponseTransferMode_STREAM,
			Timeout:              awscdk.Duration_Seconds(jsii.Number(math.Min(timeoutSeconds, maxStreamSeconds))),
			// One permission for the whole API instead of two per method.
			ScopePermissionToMethod: jsii.Bool(false),
		},
	}
	if p.DomainName != "" {
		props.DomainName = &awsapigateway.DomainNameOptions{
			DomainName: jsii.String(p.DomainName),
			Certificate: awscertificatemanager.Certificate_FromCertificateArn(stack, jsii.String("RestApiCertificate"),
				jsii.String(p.CertificateARN)),
			EndpointType:   awsapigateway.EndpointType_REGIONAL,
			SecurityPolicy: awsapigateway.SecurityPolicy_TLS_1_2,
		}
	}
	api := awsapigateway.NewLambdaRestApi(stack, jsii.String("RestApi"), props)
	// The stack's own RestApiUrl output replaces the one CDK adds under a
	// generated name.
	api.Node().TryRemoveChild(jsii.String("Endpoint"))
	stage := api.DeploymentStage()
	// API Gateway writes execution logs to a group of this name, and would
	// create it itself, kept forever; created here, it has the stack's
	// retention and exists before the stage logs to it.
	execLogs := awslogs.NewLogGroup(stack, jsii.String("RestApiExecutionLogs"), &awslogs.LogGroupProps{
		LogGroupName: awscdk.Fn_Join(jsii.String(""), &[]*string{
			jsii.String("API-Gateway-Execution-Logs_"), api.RestApiId(), jsii.String("/" + p.StageName),
		}),
		Retention:     retention,
		RemovalPolicy: removal,
	})
	stage.Node().AddDependency(execLogs)
	// The stage logs through the account's CloudWatch role: set it first.
	if account := api.CloudWatchAccount(); account != nil {
		stage.Node().AddDependency(account)
	}
	if p.WebACLARN != "" {
		awswafv2.NewCfnWebACLAssociation(stack, jsii.String("RestApiWebAcl"), &awswafv2.CfnWebACLAssociationProps{
			ResourceArn: stage.StageArn(),
			WebAclArn:   jsii.String(p.WebACLARN),
		})
	}

	awscdk.NewCfnOutput(stack, jsii.String(OutputRESTAPIURL), &awscdk.CfnOutputProps{
		Value: api.Url(), Description: jsii.String("Streaming endpoint through API Gateway (OpenAI base_url: this URL + v1)"),
	})
	if d := api.DomainName(); d != nil {
		awscdk.NewCfnOutput(stack, jsii.String(OutputRESTAPIDomainURL), &awscdk.CfnOutputProps{
			Value:       jsii.String("https://" + p.DomainName + "/"),
			Description: jsii.String("The REST API on its custom domain (OpenAI base_url: this URL + v1)"),
		})
		awscdk.NewCfnOutput(stack, jsii.String(OutputRESTAPIDomainTarget), &awscdk.CfnOutputProps{
			Value:       d.DomainNameAliasDomainName(),
			Description: jsii.String("Point the custom domain's CNAME (or Route 53 alias) here"),
		})
	}
	return api
}

// RESTAPIAccessLogFormat is the REST API's access log line: no headers, no
// body, no key; the WAF's verdict and the integration's error beside the
// status.
const RESTAPIAccessLogFormat = `{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",` +
	`"requestTime":"$context.requestTime","method":"$context.httpMethod","path":"$context.path",` +
	`"status":"$context.status","protocol":"$context.protocol","responseLength":"$context.responseLength",` +
	`"responseLatency":"$context.responseLatency","integrationStatus":"$context.integration.status",` +
	`"integrationLatency":"$context.integration.latency","integrationError":"$context.integration.error",` +
	`"wafResponseCode":"$context.wafResponseCode","error":"$context.error.message"}`
