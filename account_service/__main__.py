from account_service.main import main

main()
