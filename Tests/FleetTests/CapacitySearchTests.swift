@testable import Fleet
import XCTest

/// The search's decisions against model servers: a function from load to verdict with a known
/// knee, plateau or generator limit, stepped through `CapacitySearch` with no I/O.
final class CapacitySearchTests: XCTestCase {
    /// Runs the search to its end (at most 60 steps) against `model`, which judges each step.
    private func search(
        _ configuration: CapacitySearch.Configuration,
        model: (_ load: Double, _ runAtThisLoad: Int) -> (CapacitySearch.Verdict, accepted: Double?)
    ) -> (answer: CapacityAnswer, steps: [CapacitySearch.Step]) {
        var search = CapacitySearch(configuration: configuration)
        var runs: [Double: Int] = [:]
        for _ in 0..<60 {
            switch search.next {
            case .finished(let answer): return (answer, search.steps)
            case .run(let load, _):
                runs[load, default: 0] += 1
                let (verdict, accepted) = model(load, runs[load]!)
                search.record(verdict, accepted: accepted)
            }
        }
        XCTFail("the search did not finish within 60 steps: \(search.steps.map(\.load))")
        return (search.answer(stoppedBy: "test"), search.steps)
    }

    func testAKneeIsFoundWithinPrecisionAndConfirmedByARepeat() {
        let knee = 1234.0
        let (answer, steps) = search(CapacitySearch.Configuration(from: 100, to: 20_000, growth: 2, precision: 0.1)) { load, _ in
            (load <= knee ? .passed : .failed, load)
        }
        XCTAssertEqual(answer.kind, .knee)
        XCTAssertTrue(answer.confirmed)
        let highest = try! XCTUnwrap(answer.highestPassing)
        let failing = try! XCTUnwrap(answer.lowestFailing)
        XCTAssertLessThanOrEqual(highest, knee)
        XCTAssertGreaterThan(failing, knee)
        XCTAssertLessThanOrEqual(failing, highest * 1.1, "narrowed to the precision")
        XCTAssertEqual(steps.prefix(5).map(\.load), [100, 200, 400, 800, 1600], "geometric growth until the first failure")
        XCTAssertTrue(steps.contains { $0.phase == .narrowing })
        XCTAssertEqual(steps.last?.phase, .confirming)
        XCTAssertEqual(steps.last?.load, highest)
        XCTAssertNil(answer.plateau, "accepted grew with the offered load")
    }

    func testEveryStepPassingUpToTheUpperBoundAnswersAtLeastThat() {
        let (answer, steps) = search(CapacitySearch.Configuration(from: 100, to: 1000)) { load, _ in (.passed, load) }
        XCTAssertEqual(answer.kind, .reachedTo)
        XCTAssertEqual(answer.highestPassing, 1000)
        XCTAssertEqual(steps.map(\.load), [100, 200, 400, 800, 1000, 1000], "the last step is capped at to, then repeated")
    }

    func testTheLowestLoadFailingAnswersNoPassingStep() {
        let (answer, steps) = search(CapacitySearch.Configuration(from: 100, to: 1000)) { _, _ in (.failed, 0) }
        XCTAssertEqual(answer.kind, .noPassingStep)
        XCTAssertNil(answer.highestPassing)
        XCTAssertEqual(answer.lowestFailing, 100)
        XCTAssertEqual(steps.count, 1, "nothing is below from to try")
    }

    func testAServerThatRefusesAboveAConnectionLimitShowsAPlateauEvenWhenThresholdsPass() {
        // Thresholds too lax to fail: only the accepted registrations tell.
        let (answer, _) = search(CapacitySearch.Configuration(from: 100, to: 3200)) { load, _ in (.passed, min(load, 700)) }
        XCTAssertEqual(answer.kind, .reachedTo)
        let plateau = try! XCTUnwrap(answer.plateau)
        XCTAssertEqual(plateau.acceptedFrom, 700)
        XCTAssertEqual(plateau.acceptedTo, 700)
        XCTAssertEqual(plateau.offeredFrom, 800, "the lowest step whose accepted stopped growing")
        XCTAssertEqual(plateau.offeredTo, 3200)
    }

    func testAGeneratorLimitIsNeverReportedAsTheServersKnee() {
        // The server would fail at 5000; the generator gives out at 3000 first.
        let (answer, steps) = search(CapacitySearch.Configuration(from: 500, to: 20_000)) { load, _ in
            (load >= 3000 ? .generatorLimited : load >= 5000 ? .failed : .passed, load)
        }
        XCTAssertEqual(answer.kind, .generatorLimited)
        XCTAssertNil(answer.lowestFailing, "no step is the server's failure")
        XCTAssertEqual(answer.generatorLimitedAt, steps.filter { $0.verdict == .generatorLimited }.map(\.load).min())
        let highest = try! XCTUnwrap(answer.highestPassing)
        XCTAssertLessThan(highest, 3000)
        XCTAssertGreaterThanOrEqual(highest * 1.1, try! XCTUnwrap(answer.generatorLimitedAt), "narrowed up to the generator's limit")
        XCTAssertTrue(answer.confirmed)
    }

    func testStepsTheGeneratorCouldNotRunMakeNoPlateau() {
        // A step this machine cannot run accepts nothing: that is no server refusing registrations.
        let (answer, _) = search(CapacitySearch.Configuration(from: 1000, to: 64_000)) { load, _ in
            load >= 20_000 ? (.generatorLimited, 0) : (.passed, load)
        }
        XCTAssertEqual(answer.kind, .generatorLimited)
        XCTAssertNil(answer.plateau)
    }

    func testAStepTooBigForOneProcessRunsWithMoreWorkersFirst() throws {
        // The default worker count and 4 would hold too many sockets per process; 8 fit.
        var tried: [Int?] = []
        let workers = try FleetSearch.workers(given: nil) { candidate in
            tried.append(candidate)
            return (candidate ?? 2) < 8 ? "too many sockets in one process" : nil
        }
        XCTAssertEqual(workers, 8)
        XCTAssertEqual(tried, [nil, 4, 8])
        // Workers the user gave are kept; a step they cannot carry is refused with the reason.
        XCTAssertThrowsError(try FleetSearch.workers(given: 2) { _ in "too many sockets in one process" }) { error in
            XCTAssertEqual("\(error)".contains("not run: too many sockets in one process"), true, "\(error)")
        }
        XCTAssertEqual(try FleetSearch.workers(given: 3) { _ in nil }, 3)
    }

    func testAServerFailureBelowTheGeneratorsLimitIsTheKnee() {
        let (answer, _) = search(CapacitySearch.Configuration(from: 500, to: 20_000)) { load, _ in
            (load >= 1500 ? .failed : .passed, load)
        }
        XCTAssertEqual(answer.kind, .knee)
        let (mixed, _) = search(CapacitySearch.Configuration(from: 500, to: 20_000)) { load, _ in
            // Growth meets the generator's limit at 2000 first; narrowing finds the server failing below it.
            (load >= 2000 ? .generatorLimited : load >= 1500 ? .failed : .passed, load)
        }
        XCTAssertEqual(mixed.kind, .knee)
        XCTAssertEqual(mixed.generatorLimitedAt, 2000)
        XCTAssertGreaterThanOrEqual(try! XCTUnwrap(mixed.lowestFailing), 1500)
    }

    func testARepeatThatFailsStepsDownToTheNextLoadThatPassedAndConfirmsIt() {
        // The best load passes once, then fails its repeat: flaky near the knee.
        var bestSeen: Double?
        let (answer, steps) = search(CapacitySearch.Configuration(from: 100, to: 20_000)) { load, run in
            if load > 1000 { return (.failed, load) }
            if run > 1, load == bestSeen { return (.failed, load) }
            if run == 1 { bestSeen = max(bestSeen ?? 0, load) }
            return (.passed, load)
        }
        XCTAssertEqual(answer.kind, .knee)
        XCTAssertTrue(answer.confirmed)
        let flaky = try! XCTUnwrap(bestSeen)
        XCTAssertLessThan(try! XCTUnwrap(answer.highestPassing), flaky, "the flaky load is not the answer")
        XCTAssertEqual(steps.filter { $0.load == answer.highestPassing && $0.verdict == .passed }.count, 2, "the answer passed twice")
        XCTAssertTrue(answer.notes.contains { $0.contains("repeat of \(SearchPlan.number(flaky)) failed: stepped down") }, "\(answer.notes)")
    }

    func testRepeatsThatAlwaysFailLeaveTheAnswerUnconfirmed() {
        let configuration = CapacitySearch.Configuration(from: 100, to: 20_000)
        let (answer, steps) = search(configuration) { load, run in (run == 1 && load <= 1000 ? .passed : .failed, load) }
        XCTAssertEqual(answer.kind, .unconfirmed)
        XCTAssertFalse(answer.confirmed)
        XCTAssertEqual(steps.filter { $0.phase == .confirming && $0.verdict == .failed }.count, configuration.maxStepDowns + 1)
    }

    func testWithoutConfirmTheBestLoadIsTheAnswerAtOnce() {
        var configuration = CapacitySearch.Configuration(from: 100, to: 20_000)
        configuration.confirm = false
        let (answer, steps) = search(configuration) { load, _ in (load <= 1234 ? .passed : .failed, load) }
        XCTAssertEqual(answer.kind, .knee)
        XCTAssertFalse(answer.confirmed)
        XCTAssertFalse(steps.contains { $0.phase == .confirming })
    }

    func testAStoppedSearchGivesItsAnswerSoFarMarkedPartial() {
        var search = CapacitySearch(configuration: CapacitySearch.Configuration(from: 100, to: 20_000))
        search.record(.passed, accepted: 100)
        search.record(.passed, accepted: 200)
        let partial = search.answer(stoppedBy: "interrupted")
        XCTAssertTrue(partial.isPartial)
        XCTAssertEqual(partial.kind, .incomplete)
        XCTAssertEqual(partial.highestPassing, 200)
        XCTAssertEqual(search.next, .run(load: 400, phase: .growing))
        search.record(.failed, accepted: 250)
        let afterFailure = search.answer(stoppedBy: "max-duration")
        XCTAssertEqual(afterFailure.kind, .knee)
        XCTAssertFalse(afterFailure.confirmed)
        XCTAssertEqual(afterFailure.stoppedBy, "max-duration")
    }

    func testLoadsAreRoundedAsThePlanRunsThem() {
        let (answer, steps) = search(CapacitySearch.Configuration(from: 3, to: 100, growth: 1.5, round: { max($0.rounded(), 1) })) { load, _ in
            (load <= 17 ? .passed : .failed, load)
        }
        XCTAssertTrue(steps.allSatisfy { $0.load == $0.load.rounded() }, "\(steps.map(\.load))")
        XCTAssertEqual(answer.highestPassing, 17)
        XCTAssertEqual(answer.lowestFailing, 18)
    }
}
