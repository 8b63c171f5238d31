from transaction_service.main import main

main()
