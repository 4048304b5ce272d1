using Xunit.Abstractions;
using Xunit.Sdk;

namespace EndToEnd.Tests.Infrastructure;

/// <summary>Marks a test as step <see cref="Number"/> of a class whose tests share one system and run in step order (<see cref="StepOrderer"/>).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class StepAttribute(int number) : Attribute
{
    public int Number { get; } = number;
}

/// <summary>Runs a class's tests by their <see cref="StepAttribute"/> number; a test without one is a configuration error. Stateless.</summary>
public sealed class StepOrderer : ITestCaseOrderer
{
    public const string TypeName = "EndToEnd.Tests.Infrastructure.StepOrderer";
    public const string AssemblyName = "EndToEnd.Tests";

    public IEnumerable<TTestCase> OrderTestCases<TTestCase>(IEnumerable<TTestCase> testCases)
        where TTestCase : ITestCase =>
        testCases.OrderBy(testCase => Step(testCase));

    private static int Step(ITestCase testCase) =>
        testCase.TestMethod.Method.GetCustomAttributes(typeof(StepAttribute).AssemblyQualifiedName).SingleOrDefault()?.GetConstructorArguments().Cast<int>().Single()
        ?? throw new InvalidOperationException($"{testCase.TestMethod.TestClass.Class.Name}.{testCase.TestMethod.Method.Name} has no [Step] but its class runs in step order");
}
